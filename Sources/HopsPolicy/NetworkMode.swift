import HopsCore

/// What a sandbox can reach on the network (DESIGN.md, "Network modes").
public enum NetworkMode: String, Sendable, CaseIterable, Codable {
  /// A new network namespace with no usable interface at all.
  case disabled
  /// `lo` up and nothing else.
  case loopback
  /// Its own address behind NAT.
  case outbound
  /// Outbound plus published ports.
  case full

  /// Modes this build can actually provide. The others are refused, never faked.
  public static let implemented: Set<NetworkMode> = [.disabled, .loopback, .outbound, .full]

  public static func parse(_ text: String) throws -> NetworkMode {
    guard let mode = NetworkMode(rawValue: text.lowercased()) else {
      throw HopsError.invalid(
        "unknown network mode '\(text)'",
        hint: "use one of: \(allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return mode
  }
}
