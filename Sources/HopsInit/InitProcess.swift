import Glibc
import HopsOS

/// hops-init: PID 1 of the sandbox. The daemon starts it already inside fresh
/// mount, pid, uts, ipc and net namespaces (cgroup follows, see below), with the command's stdin,
/// stdout and stderr on fds 0-2 and the control socket on fd 3.
///
/// The order of the privileged steps, and why:
/// 1. Block every signal and take them from a signalfd: as PID 1 we must decide
///    what each one does (forward it), and nothing may interrupt setup halfway.
/// 2. Read the plan.
/// 3. Build the filesystem and pivot into it (needs CAP_SYS_ADMIN: before the drop).
/// 4. Hostname (needs CAP_SYS_ADMIN in the new uts namespace). Then wait for the
///    daemon's "go": we are in the sandbox's cgroup; enter a cgroup namespace.
/// 5. Resolve the command inside the new root, so 127/126 name the real cause.
/// 6. no_new_privs, then cut capabilities to the plan's set. Both are inherited by
///    the command and cannot be undone by it. Also not dumpable, so the command
///    cannot ptrace us and forge reports on the control socket.
/// 7. fork + execve the command, report "started", then supervise (InitSupervisor):
///    forward signals, start execs, reap every orphan, report exits.
///
/// A plan without a command (`hops create`) starts nothing: the sandbox idles
/// until the daemon asks for execs or stops it.
public enum InitProcess {
  /// Our name until the plan comes: a hops-init waiting in the daemon's warm
  /// pool (see WarmPool) is not (yet) any sandbox's PID 1, and `ps` says so.
  public static let waitingName = "hops-init-warm"

  public static func main() -> Never {
    ProcessControl.setName(waitingName)
    let control = ControlChannel(fd: LaunchPlan.controlDescriptor)
    let signals: Int32
    do {
      signals = try blockAllSignals()
    } catch {
      fail(control, code: 125, "hops-init: \(error)")
    }

    let plan: LaunchPlan
    var prepared = false
    do {
      var frame: [UInt8]
      while true {
        guard let received = try control.receive() else { _exit(125) }
        frame = received
        guard frame == LaunchPlan.prepareFrame, !prepared else { break }
        // In the warm pool: the default rootfs came to build ahead. If that
        // fails we end, and the pool skips us (a dead warm hops-init).
        // The root first, then the mounts it was built from (spares).
        guard let received = control.takeDescriptors(control.queuedDescriptors), let root = received.first else { _exit(125) }
        do { try SandboxFilesystem.prepare(root: root, spares: Array(received.dropFirst())) } catch { _exit(125) }
        received.forEach(FD.close)
        prepared = true
      }
      plan = try LaunchPlan(frame: frame)
      guard plan.prepared == prepared else {
        fail(control, code: 125, "hops-init: the plan and the prepared filesystem disagree (prepared: \(prepared))")
      }
      // More descriptors than one message carries come on frames of their own.
      while control.queuedDescriptors < plan.descriptorCount + (plan.stdioPassed ? 3 : 0) {
        guard let more = try control.receive(), more == LaunchPlan.descriptorsFrame else { _exit(125) }
      }
    } catch {
      fail(control, code: 125, "hops-init: cannot read the launch plan: \(error)")
    }
    if plan.stdioPassed {
      // The client's own streams replace the daemon's pipes on fds 0-2.
      guard let stdio = control.takeDescriptors(3) else { fail(control, code: 125, "hops-init: the plan's streams are missing") }
      for (target, fd) in stdio.enumerated() {
        dup2(fd, Int32(target))
        FD.close(fd)
      }
    }
    let mounts = control.takeDescriptors(plan.descriptorCount) ?? []
    ProcessControl.setName("hops-init")

    var command: String?
    var terminalSlave: Int32 = -1
    var user: (uid: UInt32, gid: UInt32)?
    do {
      if let network = plan.network {
        // IPv6 is not routed for sandboxes: it is off before eth0 comes up, so
        // eth0 never has a link-local address nor sends a packet of it onto
        // the bridge. (/proc/sys/net is this network namespace's, in the
        // prepared root as in the host's /proc a cold start still sees.)
        for file in ["all", "default"] { try? writeText("/proc/sys/net/ipv6/conf/\(file)/disable_ipv6", "1") }
        try Network.configure(interface: network.interface, address: network.address, prefix: network.prefixLength, gateway: network.gateway)
      }
      try SandboxFilesystem(plan: plan, descriptors: mounts).build()
      mounts.forEach(FD.close)
      try syscall("sethostname", plan.hostname) { sethostname(plan.hostname, plan.hostname.utf8.count) }
      if plan.loopbackUp { try Network.bringLoopbackUp() }
      if let size = plan.terminal {
        // From the sandbox's own devpts instance (mounted by build()), so the
        // command sees its terminal at /dev/pts/N like on any machine.
        let pty = try Terminal.openPTY(size: size)
        try control.send(Array(InitReport.terminal.json.utf8), descriptors: [pty.master])
        FD.close(pty.master)
        terminalSlave = pty.slave
      }
      // While we built the filesystem, the daemon moved us into the sandbox's
      // cgroup (moving a process into a v1 cgroup can take milliseconds, so the
      // two overlap). Its "go" says that is done: from here on, everything runs
      // under the sandbox's limits, and the cgroup namespace is rooted there.
      guard let go = try control.receive(), go == LaunchPlan.goFrame else { _exit(125) }
      try ProcessControl.newCgroupNamespace()
      if !plan.argv.isEmpty {
        command = try resolveCommand(plan.argv, environment: plan.environment, workingDirectory: plan.workingDirectory)
        user = try resolveUser(plan.user)
      }
      try ProcessControl.forbidNewPrivileges()
      try Capabilities.limit(to: plan.capabilities)
      try ProcessControl.setDumpable(false)
    } catch let error as ResolveFailure {
      fail(control, code: error.code, error.message)
    } catch {
      fail(control, code: 125, "cannot set up the sandbox: \(error)")
    }

    let filter = plan.seccompFilter.map { Array($0) }
    guard let command else {
      // No command (`hops create`): the sandbox idles, ready for execs.
      releaseStdio()
      report(control, .started(pid: 0))
      var idle = InitSupervisor(control: control, signals: signals, main: nil, seccompFilter: filter)
      idle.run()
    }
    let child: pid_t
    do {
      // On a terminal the command leads a new session with the terminal as its
      // controlling tty, so job control and Ctrl-C work as in any login.
      let stdio: [Int32] = terminalSlave >= 0 ? [terminalSlave, terminalSlave, terminalSlave] : [0, 1, 2]
      child = try Spawn.start(
        path: command, argv: plan.argv, environment: plan.environment,
        descriptors: stdio, workingDirectory: plan.workingDirectory,
        newSession: terminalSlave >= 0, controllingTerminal: terminalSlave >= 0, user: user, seccompFilter: filter)
    } catch {
      let (code, reason) = describeExecFailure(error.errno)
      fail(control, code: code, "\(plan.argv[0]): \(reason)")
    }
    FD.close(terminalSlave)
    releaseStdio()
    report(control, .started(pid: child))
    var supervisor = InitSupervisor(control: control, signals: signals, main: child, seccompFilter: filter)
    supervisor.run()
  }

  /// Every signal is blocked and read from the returned signalfd. Blocking (not
  /// ignoring) matters for PID 1: the kernel drops signals to a namespace's init
  /// that have no handler, unless they are blocked and so stay pending.
  private static func blockAllSignals() throws(SyscallError) -> Int32 {
    try ProcessControl.signalsToDescriptor()
  }

  struct ResolveFailure: Error {
    let code: Int32
    let message: String
  }

  /// The program argv[0] names, looked up through the environment's PATH inside
  /// the sandbox, with 127/126/125 and a message naming the cause when it fails.
  static func resolveCommand(_ argv: [String], environment: [String], workingDirectory: String) throws(ResolveFailure) -> String {
    guard let name = argv.first, !name.isEmpty else {
      throw ResolveFailure(code: 125, message: "no command given")
    }
    if CommandResolver.fileKind(workingDirectory) != .directory {
      throw ResolveFailure(
        code: 125, message: "working directory \(workingDirectory) does not exist in the sandbox")
    }
    let path = environment.first { $0.hasPrefix("PATH=") }.map { String($0.dropFirst(5)) } ?? ""
    switch CommandResolver.resolve(name, path: path) {
    case .found(let resolved): return resolved
    case .notFound(let message): throw ResolveFailure(code: 127, message: message)
    case .notExecutable(let message): throw ResolveFailure(code: 126, message: message)
    }
  }

  /// The uid and gid a user spec names in the sandbox's own /etc/passwd and
  /// /etc/group; nil (root) for none.
  static func resolveUser(_ spec: String?) throws(ResolveFailure) -> (uid: UInt32, gid: UInt32)? {
    guard let spec, !spec.isEmpty else { return nil }
    let read = { (path: String) in (try? readText(path)) ?? "" }
    do { return try UserResolver.resolve(spec, passwd: read("/etc/passwd"), group: read("/etc/group")) } catch {
      throw ResolveFailure(code: 125, message: "\(error)")
    }
  }

  /// execve failed after the file was found: ENOENT then means a missing script
  /// interpreter or dynamic loader.
  static func describeExecFailure(_ code: Int32) -> (Int32, String) {
    switch code {
    case ENOENT:
      return (127, "cannot execute: its interpreter or dynamic loader is missing in the sandbox")
    case ENOEXEC: return (126, "cannot execute: not a program or script this system can run")
    case EACCES, EPERM, EISDIR, ETXTBSY: return (126, "cannot execute: \(errnoString(code))")
    default: return (125, "cannot start: \(errnoString(code))")
    }
  }

  /// The command has its own copies of stdin/stdout/stderr. Ours must not keep
  /// the pipes open, or the daemon would never see end-of-file after it exits.
  static func releaseStdio() {
    let null = open("/dev/null", O_RDWR | O_CLOEXEC)
    if null >= 0 {
      for fd: Int32 in 0...2 { dup2(null, fd) }
      close(null)
    }
  }

  static func report(_ control: ControlChannel, _ message: InitReport, descriptors: [Int32] = []) {
    try? control.send(Array(message.json.utf8), descriptors: descriptors)
  }

  private static func fail(_ control: ControlChannel, code: Int32, _ message: String) -> Never {
    report(control, .failed(code: code, message: message))
    _exit(code)
  }
}
