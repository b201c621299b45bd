/// The version reported by `hops --version` and the daemon's status.
public enum HopsVersion {
  public static let current = "0.1.0"
}
