/// One mount hops-init makes, fully decided by the daemon: kind, host source,
/// destination inside the sandbox and flags.
public struct PlanMount: Codable, Sendable, Equatable {
  public enum Kind: String, Codable, Sendable {
    case bind
    case tmpfs
    /// overlayfs with `source` as the lower layer and `upperDir`/`workDir` in the
    /// sandbox's directory: writes go there and vanish with the sandbox.
    case overlay
  }

  public var kind: Kind
  public var source: String
  public var destination: String
  public var readOnly: Bool
  public var noExec: Bool
  /// tmpfs data (`size=64m,mode=1777`).
  public var data: String
  public var upperDir: String
  public var workDir: String
  /// Index of the detached mount the daemon built for this one (bind and
  /// overlay), among the descriptors that came with the plan: hops-init
  /// attaches it instead of mounting `source`.
  public var descriptor: Int?
  /// Whether a bind's source is a directory (else a file), as the daemon found it.
  public var sourceIsDirectory: Bool?

  public init(
    kind: Kind, source: String, destination: String, readOnly: Bool = false, noExec: Bool = false,
    data: String = "", upperDir: String = "", workDir: String = ""
  ) {
    self.kind = kind
    self.source = source
    self.destination = destination
    self.readOnly = readOnly
    self.noExec = noExec
    self.data = data
    self.upperDir = upperDir
    self.workDir = workDir
  }
}

/// The sandbox's side of the outbound and full modes: the interface the daemon
/// moved into our network namespace, and how to configure it.
public struct PlanNetwork: Codable, Sendable, Equatable {
  public var interface: String
  /// IPv4 addresses in host byte order.
  public var address: UInt32
  public var prefixLength: Int
  public var gateway: UInt32

  public init(interface: String, address: UInt32, prefixLength: Int, gateway: UInt32) {
    self.interface = interface
    self.address = address
    self.prefixLength = prefixLength
    self.gateway = gateway
  }
}
