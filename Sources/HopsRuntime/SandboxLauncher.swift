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

  /// The host side of the outbound and full modes; nil when this daemon could
  /// not get a network slot (those modes are then refused).
  let hostNetwork: HostNetwork?

  /// Whether sandboxes get a user namespace (see UserNamespaceSupport).
  public let userNamespaces: UserNamespaceSupport.Result

  /// Starts hops-init, on the spot or for the pool.
  let starter: InitStarter

  /// The hops-init zygote, when it could be started (InitZygote).
  let zygote: InitZygote?

  /// The daemon's nice value, which sandboxes get (warm ones wait at idle
  /// priority until taken).
  let daemonNice = ProcessControl.nice

  /// hops-inits started ahead of need; nil when the daemon keeps none.
  public let pool: WarmPool?

  /// `warm`: how many sandboxes' hops-init to keep started ahead of need
  /// (WarmPool); 0 starts each on the spot.
  public init(home: HopsHome, setup: HomeSetup, initPath: String, cgroups: CgroupHierarchy?, warm: Int = 0) {
    self.home = home
    self.setup = setup
    self.initPath = initPath
    self.cgroups = cgroups
    self.userNamespaces = UserNamespaceSupport.probe(home: home)
    HostNetwork.removeOrphans()
    self.hostNetwork = try? HostNetwork()
    // HOPS_NO_ZYGOTE=1 spawns every hops-init (to compare, or to rule the zygote out);
    // HOPS_ZYGOTE_CODE_FROM_FILE=1 keeps its code on the file's pages (for a profiler).
    let zygote = getenv("HOPS_NO_ZYGOTE") == nil
      ? try? InitZygote(
        initPath: initPath, minimalMounts: userNamespaces.supported,
        codeFromFile: getenv("HOPS_ZYGOTE_CODE_FROM_FILE") != nil) : nil
    self.zygote = zygote
    let starter = InitStarter(
      home: home, initPath: initPath, cgroups: cgroups, userNamespaces: userNamespaces.supported, zygote: zygote)
    self.starter = starter
    // Warm cgroups get the default profile's limits, which most runs ask for
    // (apply then writes nothing on their path); others get theirs written.
    // (No cpuset: a warm one has no cpuset cgroup, see WarmPool.)
    var defaultLimits = (try? ProfileStore(home: home).load("default"))?.policy.limits ?? ResourceLimits()
    defaultLimits.cpuset = nil
    let warmLimits = Self.cgroupLimits(defaultLimits)
    let warmLayerBytes = Self.memoryLayerBytes(defaultLimits)
    self.pool = warm > 0
      ? WarmPool(
        size: warm,
        start: {
          let started = try starter.start(id: SandboxLauncher.newID(), limits: warmLimits)
          if let info = try? setup.ensureDefaultRootfs().0 {
            SandboxLauncher.prepare(started, lowers: [info.path], layerBytes: warmLayerBytes)
          }
          return started
        },
        joinCgroups: { starter.join($0) })
      : nil
  }

  /// A policy's limits as its cgroup takes them.
  static func cgroupLimits(_ limits: ResourceLimits) -> CgroupLimits {
    CgroupLimits(memoryBytes: limits.memoryBytes, cpus: limits.cpus, maxProcesses: limits.maxProcesses, cpuset: limits.cpuset)
  }

  /// Gives a warm hops-init the default rootfs to build ahead (LaunchPlan's
  /// prepareFrame): the root overlay, /proc, /dev, /sys, /tmp and the masks,
  /// about two thirds of a sandbox's mount calls, then are off the run's path.
  /// Only with user namespaces (the daemon builds the root then); a failure
  /// leaves the warm one as it was, or dead (and then skipped).
  static func prepare(_ started: StartedInit, lowers: [String], layerBytes: UInt64) {
    guard let ids = started.ids, let identity = PreparedRoot(lowers: lowers),
      let builder = try? SandboxMountBuilder(initPid: started.pid, rootID: ids.base, layers: .memory(sizeBytes: layerBytes))
    else { return }
    defer { builder.closeAll() }
    do {
      let root = try builder.root(lowers: lowers)
      // The root, then its lower layers (LaunchPlan.spareDescriptors). The
      // tmpfs of its writable layer stays here: a launch may resize it and
      // make more layers in it.
      try ControlChannel(fd: started.control).send(
        LaunchPlan.prepareFrame, descriptors: ([root] + builder.spares).map { builder.descriptors[$0] })
      started.preparedRoot = identity
      started.memoryLayers = builder.takeMemoryLayers()
      started.memoryLayerBytes = layerBytes
    } catch {
      return
    }
  }

  /// The most a sandbox's in-memory layers hold, all together: three
  /// quarters of its memory limit, so that a large write fails with ENOSPC,
  /// as on a full disk, before the sandbox's memory is full of files that
  /// the OOM killer cannot free; without a limit, half the host's memory
  /// (tmpfs's own default).
  static func memoryLayerBytes(_ limits: ResourceLimits) -> UInt64 {
    if let memory = limits.memoryBytes { return max(memory / 4 * 3, 1 << 20) }
    return max(HostFacts.current().memoryBytes / 2, 1 << 20)
  }

  /// Removes the bridge and rules this daemon made (at shutdown).
  public func teardownNetwork() { hostNetwork?.teardown() }

  /// Ends the hops-init zygote (at shutdown); hops-init is spawned from then on.
  public func stopZygote() { zygote?.stop() }

  /// A warm hops-init for a sandbox with this policy, if one is ready and the
  /// sandbox needs nothing a warm one lacks: its writable layers are in memory
  /// (as a warm one's prepared root has them, see `layersInMemory`), and it
  /// has no cpuset (a warm cgroup has none). The sandbox's id is then the warm
  /// one's; `launch` takes it over, or the caller discards it.
  public func takeWarm(for policy: Policy, kind: SandboxRecord.Kind) -> StartedInit? {
    guard Self.layersInMemory(policy, kind: kind), policy.limits.cpuset == nil else { return nil }
    // One with a prepared root stands on the default rootfs: it serves only a
    // sandbox on that very rootfs, and stays in the pool for any other.
    let onDefault = policy.rootfs == Policy.defaultRootfs
    var current: PreparedRoot??
    while let warm = pool?.take(where: { onDefault || $0.preparedRoot == nil }) {
      guard let prepared = warm.preparedRoot else { return warm }
      if current == nil { current = (try? setup.ensureDefaultRootfs().0).flatMap { PreparedRoot(lowers: [$0.path]) } }
      if current == prepared { return warm }
      // The default rootfs was replaced since: this one is out of date, and
      // so are the others of its batch; the next may be fresh.
      Threads.detach(name: "hopsd-discard") { warm.discard() }
    }
    return nil
  }

  /// Whether a sandbox's writable layers go in memory: when it is thrown
  /// away at its exit (a `hops run`, not `--keep`, not detached). A kept one's
  /// are looked at after its end; a detached one may serve for days, and a
  /// created one is a place to work in for as long as one likes: theirs are
  /// on disk, in their directory. See SandboxMountBuilder.Layers.
  static func layersInMemory(_ policy: Policy, kind: SandboxRecord.Kind) -> Bool {
    kind == .run && !policy.keep
  }

  /// A warm hops-init taken but not launched (the request was refused first).
  public func giveBack(_ warm: StartedInit) {
    pool?.giveBack(warm) ?? warm.discard()
  }

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
    /// A direct run's stdin, stdout and stderr (the client's own): hops-init
    /// gets them for the command, and the daemon relays nothing. The caller
    /// keeps and closes these.
    public var stdio: [Int32]?

    public init(id: String = SandboxLauncher.newID(), name: String? = nil, kind: SandboxRecord.Kind = .run, profile: String? = nil, terminal: Terminal.Size? = nil) {
      self.id = id
      self.name = name
      self.kind = kind
      self.profile = profile
      self.terminal = terminal
    }
  }

  /// Starts a sandbox. A `created` one has no command: hops-init idles in it,
  /// ready for execs. `warm` (from `takeWarm`, its id in `options`) is taken
  /// over, or discarded if the launch fails.
  public func launch(
    policy requested: Policy, command requestedCommand: [String], options: Options = Options(), warm: StartedInit? = nil
  ) throws -> Sandbox {
    // A warm hops-init the launch does not get to use goes back to the pool.
    var unused = warm
    defer { unused.map(giveBack) }
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
    let limits = Self.cgroupLimits(policy.limits)

    // takeWarm checked a warm one's prepared root against the default rootfs;
    // if `hops init` replaced that rootfs since, the tree resolved above is
    // the sandbox's, and the warm one (standing on the old one) is not used.
    // It is ended here and now: the one started instead takes its id, and so
    // its cgroup's name, which must be gone first.
    var warm = warm
    if let stale = warm, let prepared = stale.preparedRoot, prepared != PreparedRoot(lowers: rootfs.lowerDirs) {
      warm = nil
      unused = nil
      stale.discard()
    }
    // hops-init, in the sandbox's namespaces and waiting for its plan: a warm
    // one gets its limits now; one started here is made with them.
    let started: StartedInit
    if let warm {
      unused = nil
      started = warm
      do {
        // It was started at idle priority (WarmPool): from now on it is the
        // sandbox's PID 1, scheduled like any process.
        try ProcessControl.scheduleNormally(warm.pid, nice: daemonNice)
        try warm.cgroup?.apply(limits)
      } catch {
        warm.discard()
        throw HopsError.failed("cannot start the sandbox: \(error)")
      }
    } else {
      started = try starter.start(
        id: options.id, idle: idle, limits: limits, withCpuset: policy.limits.cpuset != nil,
        directory: !Self.layersInMemory(policy, kind: options.kind))
    }
    let id = started.id
    let directory = started.directory
    let pid = started.pid
    var opened = started.descriptors
    func closeAll() { opened.forEach(FD.close) }
    var network: SandboxNetwork?
    var builder: SandboxMountBuilder?
    defer { builder?.closeAll() }
    do {
      // Without a user namespace hops-init mounts the overlays itself, by path:
      // their layers are then always on disk.
      let inMemory = started.ids != nil && Self.layersInMemory(policy, kind: options.kind)
      // A directory only for what must be on disk: layers that outlive the
      // run, a record, a resolv.conf to bind (see StartedInit.directory).
      let resolvConf = policy.network == .outbound || policy.network == .full
      if !inMemory || resolvConf { try started.makeDirectory(rootMountPoint: started.ids == nil, home: home) }
      var (workspaceMount, mounts) = try Self.planMounts(policy, directory: directory, byPath: started.ids == nil)
      if resolvConf {
        guard let hostNetwork else {
          throw HopsError(.unavailable, "the \(policy.network.rawValue) network mode is unavailable: no free Hops network slot")
        }
        network = try SandboxNetwork.reserve(host: hostNetwork, id: id, policy: policy)
        mounts.insert(try network!.writeResolvConf(in: directory), at: 0)
      }

      let environment = policy.environment.map { "\($0.key)=\($0.value)" }
      var record = SandboxRecord(
        id: id, createdAt: Date().timeIntervalSince1970, rootfs: rootfs.name, command: command,
        keep: policy.keep, initPid: pid, exitCode: nil)
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
      // A run removed at its exit has no record on disk (nor a directory,
      // unless it needs a resolv.conf): the daemon holds it, and after a crash
      // its cgroup's mark says what to clean up (see CrashRecovery).
      if !record.removedOnExit { try record.save(to: directory) }
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

      if let ids = started.ids {
        // Its mounts, built here and passed to it (see SandboxMountBuilder).
        let mountBuilder = try SandboxMountBuilder(
          initPid: pid, rootID: ids.base,
          layers: inMemory ? .memory(sizeBytes: Self.memoryLayerBytes(policy.limits)) : .disk(directory: directory))
        builder = mountBuilder
        if started.preparedRoot != nil {
          plan.prepared = true
          // Its root's layer is in a tmpfs sized for the default profile:
          // resized for this sandbox, and its other layers made there too.
          if started.memoryLayers >= 0 {
            let fd = started.memoryLayers
            started.memoryLayers = -1
            try mountBuilder.adoptMemoryLayers(fd, sizeBytes: started.memoryLayerBytes)
          }
        } else {
          plan.rootDescriptor = try mountBuilder.root(lowers: rootfs.lowerDirs)
        }
        plan.workspaceMount = try plan.workspaceMount.map { try mountBuilder.build($0) }
        plan.mounts = try plan.mounts.map { try mountBuilder.build($0) }
        // A prepared root's hops-init pivoted already, with its root's
        // spares: the spares of this plan's own overlays (their lower layers)
        // it can only close, each unmounted on its own, and the tmpfs it
        // adopted is closed here at the end, as before.
        if !plan.prepared { mountBuilder.handOverMemoryLayers() }
        plan.spareDescriptors = mountBuilder.spares
        plan.descriptorCount = mountBuilder.descriptors.count
        plan.userNamespace = true
      }
      // The veth's sandbox end goes straight into hops-init's network namespace,
      // before the plan tells it to configure that interface.
      try network?.attach(initPid: pid)
      // hops-init builds the filesystem from the plan while we move it into its
      // cgroup (unless it is there already); it runs nothing of the command
      // before our "go".
      let channel = ControlChannel(fd: started.control)
      let stdio = terminal == nil ? options.stdio : nil
      plan.stdioPassed = stdio != nil
      let passed = (stdio ?? []) + (builder?.descriptors ?? [])
      let batch = Int(HOPS_MAX_PASSED_FDS)
      try channel.send(plan.frame, descriptors: Array(passed.prefix(batch)))
      for start in stride(from: batch, to: passed.count, by: batch) {
        try channel.send(LaunchPlan.descriptorsFrame, descriptors: Array(passed[start..<min(passed.count, start + batch)]))
      }
      builder?.closeAll()
      try Self.sendGo(channel, cgroup: started.inCgroup ? nil : started.cgroup, pid: pid)
      var terminalFD: Int32 = -1
      var pendingReport: InitReport?
      if terminal != nil {
        // hops-init sends the terminal's master, or (if it failed first) its report.
        if let frame = try channel.receive() {
          let report = try? InitReport(json: frame)
          if report == .terminal, let fd = channel.takeDescriptors(1)?.first {
            terminalFD = fd
            opened.append(fd)
            try FD.setNonBlocking(fd)
          } else {
            pendingReport = report
          }
        }
      }
      var main: ProcessStreams?
      if let streams = started.streams, stdio != nil {
        // hops-init has the client's streams: our pipes have no use.
        [streams.stdin, streams.stdout, streams.stderr].forEach(FD.close)
        opened.removeAll { [streams.stdin, streams.stdout, streams.stderr].contains($0) }
      } else if let streams = started.streams {
        try FD.setNonBlocking(streams.stdin)
        [streams.stdin, streams.stdout, streams.stderr].forEach { FD.growPipe($0) }
        main = ProcessStreams(stdin: streams.stdin, stdout: streams.stdout, stderr: streams.stderr, terminal: terminalFD)
      }
      return Sandbox(
        directory: started.hasDirectory ? directory : nil, rootfs: rootfs.info, record: record, channel: channel, main: main,
        cgroup: started.cgroup, limits: policy.limits, network: network,
        pendingReport: pendingReport, lowerDirs: rootfs.lowerDirs, layersInMemory: inMemory,
        execDefaults: (environment, policy.workingDirectory, rootfs.config?.user), ids: started.ids)
    } catch {
      closeAll()
      network?.detach()
      Glibc.kill(pid, SIGKILL)
      _ = try? Spawn.wait(pid)
      started.cgroup?.remove()
      started.removeDirectory()
      if let error = error as? SyscallError { throw HopsError.failed("cannot start the sandbox: \(error)") }
      throw error
    }
  }

  /// Turns the policy's filesystem view into mounts. `byPath`: hops-init
  /// mounts the overlays itself, by path (no user namespace), so their upper
  /// and work directories are made here, in the sandbox directory; otherwise
  /// SandboxMountBuilder makes them, on disk or in memory, and they are left
  /// empty here.
  ///
  /// `filesystem` decides about the host paths the sandbox is given (workspace and
  /// allowed paths): without read they are not shown, without write read-only,
  /// without execute noexec.
  static func planMounts(_ policy: Policy, directory: String, byPath: Bool) throws -> (PlanMount?, [PlanMount]) {
    let access = policy.filesystem
    let readOnly = !access.contains(.write)
    let noExec = !access.contains(.execute)
    var counter = 0
    func overlayDirectories() throws -> (String, String) {
      guard byPath else { return ("", "") }
      counter += 1
      return try SandboxDirectory.makeLayer(in: directory, overlay: counter)
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
