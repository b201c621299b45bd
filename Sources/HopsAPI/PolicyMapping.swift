import HopsCore
import HopsPolicy

/// Policy <-> RunRequest: the one place where the model crosses the wire, so the
/// CLI and the daemon can never map a field differently.
extension Hops_V1_RunRequest {
  public init(policy: Policy, command: [String], profile: String) {
    self = .with {
      $0.command = command
      $0.workspace = policy.workspace ?? ""
      $0.rootfs = policy.rootfs
      $0.network = policy.network.rawValue
      $0.environment = policy.environment.map { variable in .with { $0.name = variable.key; $0.value = variable.value } }
      $0.hostname = policy.hostname
      $0.workingDirectory = policy.workingDirectory
      $0.keep = policy.keep
      $0.workspaceMode = policy.workspaceMode.rawValue
      $0.filesystem = policy.filesystem.names
      $0.allowedPaths = policy.allowedPaths
      $0.deniedPaths = policy.deniedPaths
      $0.mounts = policy.mounts.map { mount in
        .with {
          $0.type = mount.kind.rawValue
          $0.source = mount.source
          $0.destination = mount.destination
          $0.readOnly = mount.readOnly
          $0.options = mount.options
        }
      }
      $0.limits = .with {
        $0.cpus = policy.limits.cpus ?? 0
        $0.memoryBytes = policy.limits.memoryBytes ?? 0
        $0.maxProcesses = Int64(policy.limits.maxProcesses ?? 0)
        $0.timeoutSeconds = policy.limits.timeoutSeconds ?? 0
        $0.cpuset = policy.limits.cpuset ?? ""
      }
      $0.profile = profile
      $0.allowNet = policy.allowNet.map(\.description)
      $0.publish = policy.publish.map(\.description)
      $0.seccomp = policy.syscalls.mode.rawValue
      $0.syscallsAllow = policy.syscalls.allow
      $0.syscallsDeny = policy.syscalls.deny
      $0.setuidBits = policy.syscalls.setuidBits
    }
  }
}

extension Policy {
  /// The policy a request describes. Throws on values no CLI would send.
  public init(request: Hops_V1_RunRequest) throws {
    try RequestLimits.check(request)
    self.init()
    workspace = request.workspace.isEmpty ? nil : request.workspace
    if !request.rootfs.isEmpty { rootfs = request.rootfs }
    if !request.network.isEmpty { network = try NetworkMode.parse(request.network) }
    if !request.hostname.isEmpty { hostname = request.hostname }
    if !request.workingDirectory.isEmpty { workingDirectory = request.workingDirectory }
    if !request.environment.isEmpty { environment = request.environment.map { ($0.name, $0.value) } }
    if workspace == nil && request.workingDirectory.isEmpty { workingDirectory = "/" }
    keep = request.keep
    if !request.workspaceMode.isEmpty { workspaceMode = try WorkspaceMode.parse(request.workspaceMode) }
    if !request.filesystem.isEmpty {
      filesystem = []
      for name in request.filesystem {
        guard let access = FilesystemAccess.parse(name) else { throw HopsError.invalid("unknown filesystem access '\(name)'") }
        filesystem.insert(access)
      }
    }
    allowedPaths = request.allowedPaths
    deniedPaths = request.deniedPaths
    mounts = try request.mounts.map { mount in
      guard let kind = MountSpec.Kind(rawValue: mount.type) else { throw HopsError.invalid("unknown mount type '\(mount.type)'") }
      return MountSpec(kind: kind, source: mount.source, destination: mount.destination, readOnly: mount.readOnly, options: mount.options)
    }
    limits = ResourceLimits(
      cpus: request.limits.cpus > 0 ? request.limits.cpus : nil,
      memoryBytes: request.limits.memoryBytes > 0 ? request.limits.memoryBytes : nil,
      maxProcesses: request.limits.maxProcesses > 0 ? Int(clamping: request.limits.maxProcesses) : nil,
      timeoutSeconds: request.limits.timeoutSeconds > 0 ? request.limits.timeoutSeconds : nil)
    limits.cpuset = request.limits.cpuset.isEmpty ? nil : request.limits.cpuset
    allowNet = try request.allowNet.map(NetworkAllowance.parse)
    publish = try request.publish.map(PortMapping.parse)
    if !request.seccomp.isEmpty {
      guard let mode = SyscallFilter.Mode(rawValue: request.seccomp) else { throw HopsError.invalid("unknown seccomp profile '\(request.seccomp)'") }
      syscalls.mode = mode
    }
    for name in request.syscallsAllow + request.syscallsDeny { try SyscallFilter.validateName(name) }
    syscalls.allow = request.syscallsAllow
    syscalls.deny = request.syscallsDeny
    syscalls.setuidBits = request.setuidBits
  }
}
