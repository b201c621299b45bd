import HopsCore

/// Everything that decides what one sandbox may see and do. The CLI builds it from
/// flags (and, later, profiles); the daemon turns it into a launch plan.
public struct Policy: Sendable, Equatable {
  /// Host directory shown read-write at `/workspace`; nil means no workspace.
  public var workspace: String?
  /// Name of the root filesystem in the store.
  public var rootfs: String
  public var network: NetworkMode
  public var hostname: String
  /// Directory inside the sandbox where the command starts.
  public var workingDirectory: String
  /// Environment of the command. Keys are unique; order is kept for display.
  public var environment: [(key: String, value: String)]
  /// Keep the sandbox's files (its overlay upper layer) after the run.
  public var keep: Bool
  public var workspaceMode: WorkspaceMode
  public var filesystem: FilesystemAccess
  /// Host paths shown at the same path inside (read-only unless `filesystem` has write).
  public var allowedPaths: [String]
  /// Paths inside the sandbox that are masked, whatever else shows them.
  public var deniedPaths: [String]
  public var mounts: [MountSpec]
  public var limits: ResourceLimits
  /// Destinations opened explicitly (outbound and full modes).
  public var allowNet: [NetworkAllowance] = []
  /// Host ports forwarded into the sandbox (full mode).
  public var publish: [PortMapping] = []
  /// The seccomp filter of the sandbox's processes.
  public var syscalls = SyscallFilter()

  public static let defaultRootfs = "default"
  public static let workspaceMountPoint = "/workspace"
  public static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

  public init(
    workspace: String? = nil,
    rootfs: String = Policy.defaultRootfs,
    network: NetworkMode = .disabled,
    hostname: String = "hops",
    workingDirectory: String = Policy.workspaceMountPoint,
    environment: [(key: String, value: String)] = Policy.defaultEnvironment(term: nil),
    keep: Bool = false,
    workspaceMode: WorkspaceMode = .rw,
    filesystem: FilesystemAccess = .all,
    allowedPaths: [String] = [],
    deniedPaths: [String] = [],
    mounts: [MountSpec] = [],
    limits: ResourceLimits = ResourceLimits()
  ) {
    self.workspace = workspace
    self.rootfs = rootfs
    self.network = network
    self.hostname = hostname
    self.workingDirectory = workingDirectory
    self.environment = environment
    self.keep = keep
    self.workspaceMode = workspaceMode
    self.filesystem = filesystem
    self.allowedPaths = allowedPaths
    self.deniedPaths = deniedPaths
    self.mounts = mounts
    self.limits = limits
  }

  /// A sane environment: nothing of the caller's leaks in except `TERM`.
  public static func defaultEnvironment(term: String?) -> [(key: String, value: String)] {
    [("PATH", defaultPath), ("HOME", "/root"), ("TERM", term ?? "xterm"), ("HOSTNAME", "hops")]
  }

  /// Sets or replaces one variable, keeping the order of the others.
  public mutating func setEnvironment(_ key: String, _ value: String) {
    if let index = environment.firstIndex(where: { $0.key == key }) {
      environment[index].value = value
    } else {
      environment.append((key, value))
    }
  }

  public static func == (lhs: Policy, rhs: Policy) -> Bool {
    lhs.workspace == rhs.workspace && lhs.rootfs == rhs.rootfs && lhs.network == rhs.network
      && lhs.hostname == rhs.hostname && lhs.workingDirectory == rhs.workingDirectory
      && lhs.keep == rhs.keep && lhs.workspaceMode == rhs.workspaceMode && lhs.filesystem == rhs.filesystem
      && lhs.allowedPaths == rhs.allowedPaths && lhs.deniedPaths == rhs.deniedPaths && lhs.mounts == rhs.mounts
      && lhs.limits == rhs.limits && lhs.allowNet == rhs.allowNet && lhs.publish == rhs.publish
      && lhs.syscalls == rhs.syscalls
      && lhs.environment.map { "\($0.key)=\($0.value)" } == rhs.environment.map { "\($0.key)=\($0.value)" }
  }
}
