import Glibc
import HopsCore
import HopsOS

/// Starts hops-init for a sandbox: its directory, its cgroup, its user id
/// range, its streams and control socket, and the process itself in fresh
/// namespaces, waiting for its plan. Used on the spot by a launch, and ahead
/// of time by the WarmPool.
struct InitStarter: Sendable {
  let home: HopsHome
  let initPath: String
  let cgroups: CgroupHierarchy?
  /// Whether sandboxes get a user namespace (see UserNamespaceSupport).
  let userNamespaces: Bool
  /// Forks hops-init ready-started; nil (or gone) means each is spawned.
  let zygote: InitZygote?

  /// Every sandbox gets its own mount, pid, uts, ipc and network namespace here, and
  /// a cgroup namespace from hops-init once it sits in its cgroup. A new network
  /// namespace with nothing configured in it is the `disabled` mode: not even `lo`
  /// is up.
  static let namespaces: Spawn.Namespaces = [.mount, .pid, .uts, .ipc, .network]

  /// `idle`: no command will run (`hops create`), so hops-init gets /dev/null
  /// for its streams. The cgroup is made with `limits`. On cgroup v1 hops-init
  /// joins it itself before it runs anything (Spawn's and ZygoteCalls'
  /// `joining`), which costs the kernel no grace period; on v2 it is not in it
  /// yet (see `join`).
  ///
  /// `directory`: makes its directory now (`hops create`; without user
  /// namespaces every sandbox's root is mounted from there). Otherwise the
  /// launch makes it if the sandbox turns out to need one (StartedInit's
  /// `makeDirectory`); a warm one never has one.
  func start(
    id: String, idle: Bool = false, limits: CgroupLimits = CgroupLimits(), withCpuset: Bool = false,
    directory: Bool = false
  ) throws -> StartedInit {
    let path = home.sandbox(id: id)
    let withDirectory = directory || !userNamespaces
    if withDirectory { try SandboxDirectory.create(path, rootMountPoint: !userNamespaces, home: home) }
    // Every sandbox gets a cgroup under Hops' parent, with its limits, before any
    // of its code runs: for the limits, and for its usage figures.
    let cgroup = cgroups.map { SandboxCgroup(hierarchy: $0, name: id, withCpuset: withCpuset) }
    var opened: [Int32] = []
    var pid: pid_t = 0
    do {
      // In a user namespace of its own: root inside is the range's first id
      // outside, an unprivileged nobody to the host.
      let ids = userNamespaces ? try UserIDRange.allocate() : nil
      try cgroup?.create(limits: limits, owner: home.root)
      let stdin = idle ? try FD.openNull() : try FD.pipe()
      opened += [stdin.read, stdin.write]
      let stdout = idle ? try FD.openNull() : try FD.pipe()
      opened += [stdout.read, stdout.write]
      let stderr = idle ? try FD.openNull() : try FD.pipe()
      opened += [stderr.read, stderr.write]
      let control = try FD.socketPair()
      opened += [control.0, control.1]

      let descriptors = [stdin.read, stdout.write, stderr.write, control.1]
      let joining = try cgroup?.openForJoining() ?? []
      defer { joining.forEach(FD.close) }
      // Its own session and process group: a `kill(0, ...)` inside the sandbox
      // must not reach the daemon's process group, and the daemon's terminal
      // (with --foreground) must never be the sandbox's controlling terminal.
      let forked = try zygote?.spawn(
        descriptors: descriptors, joining: joining, namespaces: Self.namespaces, mapping: ids?.mapping)
      pid = try forked ?? ids.map {
        try Spawn.startInUserNamespace(
          path: initPath, argv: ["hops-init"], environment: [], descriptors: descriptors,
          namespaces: Self.namespaces, newSession: true, mapping: $0.mapping, joining: joining)
      } ?? Spawn.start(
        path: initPath, argv: ["hops-init"], environment: [], descriptors: descriptors,
        namespaces: Self.namespaces, newSession: true, joining: joining)
      for fd in descriptors { FD.close(fd) }
      if idle { [stdin.write, stdout.read, stderr.read].forEach(FD.close) }
      return StartedInit(
        id: id, directory: path, hasDirectory: withDirectory, pid: pid, control: control.0,
        streams: idle ? nil : (stdin.write, stdout.read, stderr.read), ids: ids, cgroup: cgroup,
        inCgroup: cgroup == nil || !joining.isEmpty)
    } catch {
      opened.forEach(FD.close)
      if pid > 0 {
        Glibc.kill(pid, SIGKILL)
        _ = try? Spawn.wait(pid)
      }
      cgroup?.remove()
      if withDirectory { SandboxDirectory.remove(path) }
      if let error = error as? SyscallError { throw HopsError.failed("cannot start the sandbox: \(error)") }
      throw error
    }
  }

  /// Moves each into its cgroup, one right after the other (they then share the
  /// kernel's grace period). Those that cannot join are discarded; the rest are
  /// returned.
  func join(_ inits: [StartedInit]) -> [StartedInit] {
    inits.filter { started in
      if started.inCgroup { return true }  // joined at its start (v1)
      do {
        try started.cgroup?.add(pid: started.pid)
        started.inCgroup = true
        return true
      } catch {
        started.discard()
        return false
      }
    }
  }
}
