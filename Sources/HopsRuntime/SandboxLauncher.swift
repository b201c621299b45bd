import CHops
import FoundationEssentials
import Glibc
import HopsCore
import HopsImage
import HopsInit
import HopsOS
import HopsPolicy

/// Turns a policy and a command into a running sandbox: the sandbox directory,
/// the launch plan, hops-init started in fresh namespaces with the plan on its
/// control socket.
public struct SandboxLauncher: Sendable {
  public let home: HopsHome
  public let setup: HomeSetup
  public let initPath: String

  /// Where the host's cgroup controllers are; nil on a host without cgroups.
  public let cgroups: CgroupHierarchy?

  /// Every sandbox gets its own mount, pid, uts, ipc and network namespace here, and
  /// a cgroup namespace from hops-init once it sits in its cgroup. A new network
  /// namespace with nothing configured in it is the `disabled` mode: not even `lo`
  /// is up.
  static let namespaces: Spawn.Namespaces = [.mount, .pid, .uts, .ipc, .network]

  /// The host side of the outbound and full modes; nil when this daemon could
  /// not get a network slot (those modes are then refused).
  let hostNetwork: HostNetwork?

  /// Whether sandboxes get a user namespace (see UserNamespaceSupport).
  public let userNamespaces: UserNamespaceSupport.Result

  public init(home: HopsHome, setup: HomeSetup, initPath: String, cgroups: CgroupHierarchy?) {
    self.home = home
    self.setup = setup
    self.initPath = initPath
    self.cgroups = cgroups
    self.userNamespaces = UserNamespaceSupport.probe(home: home)
    HostNetwork.removeOrphans()
    self.hostNetwork = try? HostNetwork()
  }

  /// Removes the bridge and rules this daemon made (at shutdown).
  public func teardownNetwork() { hostNetwork?.teardown() }

  /// Limits need their controllers; a host without them gets a clear refusal, not
  /// a sandbox that silently ignores the limit.
  func checkControllers(for limits: ResourceLimits) throws {
    let available = Set(cgroups?.available ?? [])
    let needed = [
      ("cpus", limits.cpus != nil, "cpu"), ("memory", limits.memoryBytes != nil, "memory"),
      ("max processes", limits.maxProcesses != nil, "pids"), ("cpuset", limits.cpuset != nil, "cpuset"),
    ]
    for (what, wanted, controller) in needed where wanted && !available.contains(controller) {
      throw HopsError(
        .unavailable, "a \(what) limit needs the '\(controller)' cgroup controller, which this host does not offer",
        hint: "enable it, or run without the limit (the profile or flag that sets it)")
    }
  }

  /// What to launch besides the policy and the command.
  public struct Options: Sendable {
    /// 12 hex digits; the registry has reserved it (and the name) already.
    public var id: String
    public var name: String?
    public var kind: SandboxRecord.Kind = .run
    /// The profile the policy came from, for `inspect`.
    public var profile: String?
    /// Run the command on a pseudo-terminal of this size.
    public var terminal: Terminal.Size?

    public init(id: String = SandboxLauncher.newID(), name: String? = nil, kind: SandboxRecord.Kind = .run, profile: String? = nil, terminal: Terminal.Size? = nil) {
      self.id = id
      self.name = name
      self.kind = kind
      self.profile = profile
      self.terminal = terminal
    }
  }

  /// Starts a sandbox. A `created` one has no command: hops-init idles in it,
  /// ready for execs.
  public func launch(policy requested: Policy, command requestedCommand: [String], options: Options = Options()) throws -> Sandbox {
    try requested.validate()
    let rootfs = try resolveRootfs(requested.rootfs)
    let idle = options.kind == .created
    let terminal = idle ? nil : options.terminal
    // An image's config fills in what the request leaves open.
    var policy = requested
    var command = requestedCommand
    if let config = rootfs.config {
      Self.apply(config, to: &policy, command: &command)
      if idle { command = [] }
    }
    guard !command.isEmpty || idle else {
      throw HopsError.invalid("no command given", hint: "write it after --, e.g. hops run -- /bin/echo hi")
    }
    if let workspace = policy.workspace {
      var info = stat()
      guard stat(workspace, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
        throw HopsError.notFound("workspace \(workspace) is not a directory", hint: "give an existing directory as the PATH argument")
      }
    }

    try checkControllers(for: policy.limits)
    let seccomp = try SeccompCompiler.shared.program(for: policy.syscalls)

    let id = options.id
    let directory = home.sandbox(id: id)
    try HomeSetup.ensureDirectories(home)
    for path in [directory, directory + "/upper", directory + "/work", directory + "/rootfs"] {
      guard mkdir(path, 0o700) == 0 else {
        try? FileManager.default.removeItem(atPath: directory)
        throw HopsError.failed("cannot create \(path): \(errnoString(errno))")
      }
    }
    // The upper layer's root becomes the sandbox's "/": it must be traversable.
    chmod(directory + "/upper", 0o755)

    var (workspaceMount, mounts): (PlanMount?, [PlanMount]) = (nil, [])
    var network: SandboxNetwork?
    do {
      (workspaceMount, mounts) = try Self.planMounts(policy, directory: directory)
      if policy.network == .outbound || policy.network == .full {
        guard let hostNetwork else {
          throw HopsError(.unavailable, "the \(policy.network.rawValue) network mode is unavailable: no free Hops network slot")
        }
        network = try SandboxNetwork.reserve(host: hostNetwork, id: id, policy: policy)
        mounts.insert(try network!.writeResolvConf(in: directory), at: 0)
      }
    } catch {
      network?.detach()
      try? FileManager.default.removeItem(atPath: directory)
      throw error
    }

    let environment = policy.environment.map { "\($0.key)=\($0.value)" }
    var record = SandboxRecord(
      id: id, createdAt: Date().timeIntervalSince1970, rootfs: rootfs.name, command: command,
      keep: policy.keep, initPid: 0, exitCode: nil)
    record.name = options.name
    record.kind = options.kind
    record.profile = options.profile
    record.workspace = policy.workspace
    record.workspaceMode = policy.workspaceMode.rawValue
    record.network = policy.network.rawValue
    record.address = network.map { IPv4.format($0.address) }
    record.allowNet = policy.allowNet.map(\.description)
    record.publish = policy.publish.map(\.description)
    record.limits = SandboxRecord.Limits(
      cpus: policy.limits.cpus, memoryBytes: policy.limits.memoryBytes, maxProcesses: policy.limits.maxProcesses,
      timeoutSeconds: policy.limits.timeoutSeconds, cpuset: policy.limits.cpuset)
    record.hostname = policy.hostname
    record.workingDirectory = policy.workingDirectory
    record.environment = environment
    record.user = rootfs.config?.user
    var plan = LaunchPlan(
      lowerDir: rootfs.lowerDirs.joined(separator: ":"), upperDir: directory + "/upper", workDir: directory + "/work",
      rootfsMount: directory + "/rootfs", workspace: policy.workspace,
      workspaceTarget: Policy.workspaceMountPoint, hostname: policy.hostname,
      workingDirectory: policy.workingDirectory, argv: command,
      environment: environment,
      capabilities: LaunchPlan.defaultCapabilities,
      workspaceMount: workspaceMount, mounts: mounts, maskedPaths: policy.deniedPaths,
      loopbackUp: policy.network != .disabled, network: network?.plan, terminal: terminal,
      user: rootfs.config?.user, seccompFilter: seccomp.map { Data($0) })

    var opened: [Int32] = []
    func closeAll() { opened.forEach(FD.close) }
    var builder: SandboxMountBuilder?
    defer { builder?.closeAll() }
    // Every sandbox gets a cgroup under Hops' parent, with its limits, before any
    // of its code runs: for the limits, and for its usage figures.
    let cgroup = cgroups.map { SandboxCgroup(hierarchy: $0, name: id, withCpuset: policy.limits.cpuset != nil) }
    var ids: UserIDRange?
    if userNamespaces.supported {
      do { ids = try UserIDRange.allocate() } catch {
        network?.detach()
        try? FileManager.default.removeItem(atPath: directory)
        throw error
      }
    }
    do {
      try record.save(to: directory)
      try cgroup?.create(limits: CgroupLimits(
        memoryBytes: policy.limits.memoryBytes, cpus: policy.limits.cpus, maxProcesses: policy.limits.maxProcesses,
        cpuset: policy.limits.cpuset))
      // A sandbox without a command has no streams: hops-init gets /dev/null.
      let stdin = idle ? try FD.openNull() : try FD.pipe()
      opened += [stdin.read, stdin.write]
      let stdout = idle ? try FD.openNull() : try FD.pipe()
      opened += [stdout.read, stdout.write]
      let stderr = idle ? try FD.openNull() : try FD.pipe()
      opened += [stderr.read, stderr.write]
      let control = try FD.socketPair()
      opened += [control.0, control.1]

      // In a user namespace of its own: root inside is the range's first id
      // outside, an unprivileged nobody to the host.
      let descriptors = [stdin.read, stdout.write, stderr.write, control.1]
      // Its own session and process group: a `kill(0, ...)` inside the sandbox
      // must not reach the daemon's process group, and the daemon's terminal
      // (with --foreground) must never be the sandbox's controlling terminal.
      let pid = try ids.map {
        try Spawn.startInUserNamespace(
          path: initPath, argv: ["hops-init"], environment: [], descriptors: descriptors,
          namespaces: Self.namespaces, newSession: true, mapping: $0.mapping)
      } ?? Spawn.start(
        path: initPath, argv: ["hops-init"], environment: [], descriptors: descriptors,
        namespaces: Self.namespaces, newSession: true)
      for fd in descriptors { FD.close(fd) }
      opened = [stdin.write, stdout.read, stderr.read, control.0]

      record.initPid = pid
      try? record.save(to: directory)
      if let ids {
        // Its mounts, built here and passed to it (see SandboxMountBuilder).
        let userNamespace = try syscall("open", "/proc/\(pid)/ns/user") { open("/proc/\(pid)/ns/user", O_RDONLY | O_CLOEXEC) }
        defer { FD.close(userNamespace) }
        let mountBuilder = SandboxMountBuilder(userNamespace: userNamespace, rootID: ids.base)
        builder = mountBuilder
        plan.rootDescriptor = try mountBuilder.root(lowers: rootfs.lowerDirs, upper: directory + "/upper", work: directory + "/work")
        plan.workspaceMount = try plan.workspaceMount.map { try mountBuilder.build($0) }
        plan.mounts = try plan.mounts.map { try mountBuilder.build($0) }
        plan.descriptorCount = mountBuilder.descriptors.count
        plan.userNamespace = true
      }
      // The veth's sandbox end goes straight into hops-init's network namespace,
      // before the plan tells it to configure that interface.
      try network?.attach(initPid: pid)
      // hops-init builds the filesystem from the plan while we move it into its
      // cgroup; it runs nothing of the command before our "go".
      let channel = ControlChannel(fd: control.0)
      let passed = builder?.descriptors ?? []
      let batch = Int(HOPS_MAX_PASSED_FDS)
      try channel.send(Array(try JSONEncoder().encode(plan)), descriptors: Array(passed.prefix(batch)))
      for start in stride(from: batch, to: passed.count, by: batch) {
        try channel.send(LaunchPlan.descriptorsFrame, descriptors: Array(passed[start..<min(passed.count, start + batch)]))
      }
      builder?.closeAll()
      try Self.sendGo(channel, cgroup: cgroup, pid: pid)
      var terminalFD: Int32 = -1
      var pendingReport: InitReport?
      if terminal != nil {
        // hops-init sends the terminal's master, or (if it failed first) its report.
        if let frame = try channel.receive() {
          let report = try? JSONDecoder().decode(InitReport.self, from: Data(frame))
          if report == .terminal, let fd = channel.takeDescriptors(1)?.first {
            terminalFD = fd
            opened.append(fd)
            try FD.setNonBlocking(fd)
          } else {
            pendingReport = report
          }
        }
      }
      if idle {
        [stdin.write, stdout.read, stderr.read].forEach(FD.close)
      } else {
        try FD.setNonBlocking(stdin.write)
        [stdin.write, stdout.read, stderr.read].forEach { FD.growPipe($0) }
      }
      let main = idle ? nil : ProcessStreams(stdin: stdin.write, stdout: stdout.read, stderr: stderr.read, terminal: terminalFD)
      return Sandbox(
        directory: directory, rootfs: rootfs.info, record: record, channel: channel, main: main,
        cgroup: cgroup, limits: policy.limits, network: network,
        pendingReport: pendingReport, lowerDirs: rootfs.lowerDirs,
        execDefaults: (environment, policy.workingDirectory, rootfs.config?.user), ids: ids)
    } catch {
      closeAll()
      network?.detach()
      if record.initPid > 0 {
        Glibc.kill(record.initPid, SIGKILL)
        _ = try? Spawn.wait(record.initPid)
      }
      cgroup?.remove()
      try? FileManager.default.removeItem(atPath: directory)
      if let error = error as? SyscallError { throw HopsError.failed("cannot start the sandbox: \(error)") }
      throw error
    }
  }

  /// Turns the policy's filesystem view into mounts, creating the upper and work
  /// directories of overlays inside the sandbox directory (so they go with it).
  ///
  /// `filesystem` decides about the host paths the sandbox is given (workspace and
  /// allowed paths): without read they are not shown, without write read-only,
  /// without execute noexec.
  static func planMounts(_ policy: Policy, directory: String) throws -> (PlanMount?, [PlanMount]) {
    let access = policy.filesystem
    let readOnly = !access.contains(.write)
    let noExec = !access.contains(.execute)
    var counter = 0
    func overlayDirectories() throws -> (String, String) {
      counter += 1
      let base = directory + "/mounts/\(counter)"
      for path in [directory + "/mounts", base, base + "/upper", base + "/work"] where mkdir(path, 0o700) != 0 && errno != EEXIST {
        throw HopsError.failed("cannot create \(path): \(errnoString(errno))")
      }
      chmod(base + "/upper", 0o755)
      return (base + "/upper", base + "/work")
    }
    func checkOverlaySource(_ path: String) throws {
      // overlayfs separates its options with ',' and layers with ':'.
      if path.contains(",") || path.contains(":") {
        throw HopsError.invalid("'\(path)' cannot be shown copy-on-write: overlayfs does not accept ',' or ':' in paths")
      }
    }

    // Every host path the sandbox is given, named without a symlink in it.
    for path in [policy.workspace].compactMap({ $0 }) + policy.allowedPaths + policy.mounts.filter({ $0.kind != .tmpfs }).map(\.source) {
      do { try HostPaths.check(path) } catch {
        if error.errno == ELOOP {
          throw HopsError.invalid(
            "\(path) goes through a symlink, which Hops does not follow for paths it shows in a sandbox",
            hint: "name the real path (realpath \(path))")
        }
        throw HopsError.notFound("\(path) cannot be shown in the sandbox: \(errnoString(error.errno))")
      }
    }

    var workspaceMount: PlanMount?
    if let workspace = policy.workspace, access.contains(.read) {
      let target = Policy.workspaceMountPoint
      switch policy.workspaceMode {
      case .overlay where !readOnly:
        try checkOverlaySource(workspace)
        let (upper, work) = try overlayDirectories()
        workspaceMount = PlanMount(kind: .overlay, source: workspace, destination: target, noExec: noExec, upperDir: upper, workDir: work)
      case .rw, .ro, .overlay:
        workspaceMount = PlanMount(
          kind: .bind, source: workspace, destination: target,
          readOnly: readOnly || policy.workspaceMode != .rw, noExec: noExec)
      }
    }

    var mounts: [PlanMount] = []
    if access.contains(.read) {
      for path in policy.allowedPaths {
        mounts.append(PlanMount(kind: .bind, source: path, destination: path, readOnly: readOnly, noExec: noExec))
      }
    }
    for spec in policy.mounts {
      switch spec.kind {
      case .bind:
        mounts.append(PlanMount(kind: .bind, source: spec.source, destination: spec.destination, readOnly: spec.readOnly))
      case .tmpfs:
        mounts.append(PlanMount(kind: .tmpfs, source: "tmpfs", destination: spec.destination, readOnly: spec.readOnly, data: spec.options.joined(separator: ",")))
      case .overlay:
        try checkOverlaySource(spec.source)
        let (upper, work) = try overlayDirectories()
        mounts.append(PlanMount(kind: .overlay, source: spec.source, destination: spec.destination, readOnly: spec.readOnly, upperDir: upper, workDir: work))
      }
    }
    return (workspaceMount, mounts)
  }

  /// Places hops-init in its cgroup and lets it go on. When it already gave up
  /// (a bad rootfs, say) and exited, its report waits on the control socket for
  /// the monitor to deliver: that is not a launch failure.
  static func sendGo(_ channel: ControlChannel, cgroup: SandboxCgroup?, pid: pid_t) throws(SyscallError) {
    do throws(SyscallError) {
      try cgroup?.add(pid: pid)
      try channel.send(LaunchPlan.goFrame)
    } catch {
      guard [EPIPE, ECONNRESET, ESRCH].contains(error.errno) else { throw error }
    }
  }

  /// What a sandbox's root is made of: overlayfs lower directories (top first),
  /// and for an image, its config.
  struct ResolvedRoot {
    var info: RootfsInfo
    var lowerDirs: [String]
    var config: ImageConfig?
    var path: String { info.path }
    var name: String { info.name }
  }

  /// A rootfs by name, or else an image by reference. The default rootfs is made
  /// on first use, so `hops run` works on a fresh home.
  func resolveRootfs(_ name: String) throws -> ResolvedRoot {
    if name == Policy.defaultRootfs {
      let info = try setup.ensureDefaultRootfs().0
      return ResolvedRoot(info: info, lowerDirs: [info.path])
    }
    if setup.store.exists(name) {
      let info = try setup.store.info(named: name)
      return ResolvedRoot(info: info, lowerDirs: [info.path])
    }
    let images = ImageStore(home: home)
    let image: ImageRecord
    do { image = try images.find(name) } catch {
      throw HopsError.notFound(
        "no rootfs or image named '\(name)'", hint: "see 'hops rootfs list' and 'hops image ls'; bring images with 'hops image pull' or 'hops image import'")
    }
    let lowers = try images.lowerDirectories(of: image)
    let info = RootfsInfo(
      name: image.names.first ?? image.digest, path: lowers.first ?? "", source: image.digest,
      createdAt: image.storedAt, sizeBytes: image.size)
    return ResolvedRoot(info: info, lowerDirs: lowers.isEmpty ? [try emptyLayer()] : lowers, config: image.config)
  }

  /// overlayfs needs at least one lower layer; an image with none gets an empty one.
  private func emptyLayer() throws -> String {
    let path = home.imagesDir + "/empty-layer"
    if mkdir(path, 0o755) != 0 && errno != EEXIST { throw HopsError.failed("cannot create \(path): \(errnoString(errno))") }
    return path
  }

  /// Docker's rules: the image's Entrypoint always runs, followed by the given
  /// command or else the image's Cmd; its Env fills variables the user did not
  /// set (Hops' own defaults, PATH and HOME, give way to it); its WorkingDir
  /// applies unless the user chose one.
  static func apply(_ config: ImageConfig, to policy: inout Policy, command: inout [String]) {
    command = config.entrypoint + (command.isEmpty ? config.cmd : command)
    let defaults = Dictionary(Policy.defaultEnvironment(term: nil).map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
    for assignment in config.env {
      guard let eq = assignment.firstIndex(of: "="), eq != assignment.startIndex else { continue }
      let key = String(assignment[..<eq])
      let value = String(assignment[assignment.index(after: eq)...])
      let current = policy.environment.first { $0.key == key }?.value
      if current == nil || (current == defaults[key] && key != "TERM" && key != "HOSTNAME") {
        policy.setEnvironment(key, value)
      }
    }
    if !config.workingDir.isEmpty && policy.workingDirectory == Policy.workspaceMountPoint {
      policy.workingDirectory = config.workingDir
    }
  }

  /// 12 hex digits: short enough to type, random enough not to collide.
  public static func newID() -> String {
    let value = UInt64.random(in: 0...UInt64.max) & 0xffff_ffff_ffff
    let hex = String(value, radix: 16)
    return String(repeating: "0", count: 12 - hex.count) + hex
  }
}
