import Glibc
import HopsCore
import HopsOS

/// Where the daemon finds hops-init: `$HOPS_INIT`, else beside the daemon's own
/// executable (they are built and installed together).
public enum Executables {
  public static func hopsInit() throws -> String {
    if let value = getenv("HOPS_INIT").map({ String(cString: $0) }), !value.isEmpty {
      guard access(value, X_OK) == 0 else {
        throw HopsError(.unavailable, "HOPS_INIT=\(value) is not an executable file")
      }
      return value
    }
    let candidate = (ExecutablePath.directory() ?? ".") + "/hops-init"
    guard access(candidate, X_OK) == 0 else {
      throw HopsError(.unavailable, "hops-init not found at \(candidate)", hint: "build it with 'swift build' or set HOPS_INIT")
    }
    return candidate
  }

}
