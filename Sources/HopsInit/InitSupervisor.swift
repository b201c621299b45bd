import Glibc
import HopsCore
import HopsOS

/// hops-init's life after set-up: PID 1 of the sandbox until it ends.
///
/// It waits on two descriptors: the signalfd (every signal is blocked) and the
/// control socket. Signals go to the sandbox's command; SIGCHLD reaps every
/// process (orphans are re-parented to PID 1) and reports the command's and the
/// execs' exits. The control socket brings exec requests and their signals, and
/// its end of stream means the daemon is gone: then the whole sandbox ends.
struct InitSupervisor {
  let control: ControlChannel
  let signals: Int32
  /// The sandbox's command; nil for an idle sandbox (`hops create`), which ends
  /// when asked to stop (SIGTERM) once its processes are gone.
  let main: pid_t?
  /// The sandbox's seccomp filter, for every exec too.
  let seccompFilter: [UInt8]?
  /// Running execs: id -> pid.
  private var execs: [Int: pid_t] = [:]
  /// An idle sandbox was asked to stop: it exits once nothing is left.
  private var stopping = false

  init(control: ControlChannel, signals: Int32, main: pid_t?, seccompFilter: [UInt8]?) {
    self.control = control
    self.signals = signals
    self.main = main
    self.seccompFilter = seccompFilter
  }

  mutating func run() -> Never {
    var fds = [
      pollfd(fd: signals, events: Int16(POLLIN), revents: 0),
      pollfd(fd: control.fd, events: Int16(POLLIN), revents: 0),
    ]
    while true {
      fds[0].revents = 0
      fds[1].revents = 0
      if poll(&fds, 2, -1) < 0 { continue }
      if fds[1].revents != 0 { handleControl() }
      if fds[0].revents != 0 { handleSignal() }
    }
  }

  // MARK: - The daemon's requests

  private mutating func handleControl() {
    let open = (try? control.fill()) ?? false
    guard open else {
      // The daemon is gone (it crashed or was killed): no one can receive the
      // output or decide about the sandbox, so end it. Our exit kills the rest.
      kill(-1, SIGKILL)
      _exit(137)
    }
    while let frame = try? control.nextFrame() {
      let request: InitRequest
      do { request = try InitRequest(json: frame) } catch {
        refuse(frame, because: error)
        continue
      }
      switch request {
      case .exec(let plan): startExec(plan)
      case .signal(let id, let number):
        if let pid = execs[id] { kill(pid, number) }
      }
    }
  }

  /// A request this hops-init cannot read: the descriptors that came with it
  /// are closed (they would go to the next exec), and an exec whose id can be
  /// read is told it failed, so that its client does not wait for it.
  private func refuse(_ frame: [UInt8], because error: any Error) {
    control.takeDescriptors(control.queuedDescriptors)?.forEach(FD.close)
    guard let id = (try? JSONValue(parsing: frame))?["exec"]?["_0"]?["id"]?.int64.flatMap(Int.init(exactly:)) else {
      return
    }
    InitProcess.report(control, .execFailed(id: id, code: 125, message: "hops-init cannot read this exec request: \(error)"))
  }

  private mutating func startExec(_ plan: ExecPlan) {
    var stdio: [Int32] = []
    if plan.terminal == nil {
      guard let passed = control.takeDescriptors(3) else {
        InitProcess.report(control, .execFailed(id: plan.id, code: 125, message: "exec: its stdin, stdout and stderr did not arrive"))
        return
      }
      stdio = passed
    }
    defer { stdio.forEach(FD.close) }
    if stopping {
      InitProcess.report(control, .execFailed(id: plan.id, code: 125, message: "the sandbox is stopping"))
      return
    }
    let command: String
    let user: (uid: UInt32, gid: UInt32)?
    do {
      command = try InitProcess.resolveCommand(plan.argv, environment: plan.environment, workingDirectory: plan.workingDirectory)
      user = try InitProcess.resolveUser(plan.user)
    } catch {
      InitProcess.report(control, .execFailed(id: plan.id, code: error.code, message: error.message))
      return
    }
    var slave: Int32 = -1
    if let size = plan.terminal {
      do {
        let pty = try Terminal.openPTY(size: size)
        InitProcess.report(control, .execTerminal(id: plan.id), descriptors: [pty.master])
        FD.close(pty.master)
        slave = pty.slave
        stdio = [slave, slave, slave]
      } catch {
        InitProcess.report(control, .execFailed(id: plan.id, code: 125, message: "cannot open a terminal: \(error)"))
        return
      }
    }
    do {
      // Its own session: a `kill(0, ...)` in one exec reaches none of the others,
      // and with a terminal it is the controlling one, as in a login.
      let pid = try Spawn.start(
        path: command, argv: plan.argv, environment: plan.environment, descriptors: stdio,
        workingDirectory: plan.workingDirectory, newSession: true, controllingTerminal: slave >= 0, user: user,
        seccompFilter: seccompFilter)
      execs[plan.id] = pid
      InitProcess.report(control, .execStarted(id: plan.id, pid: pid))
    } catch {
      let (code, reason) = InitProcess.describeExecFailure(error.errno)
      InitProcess.report(control, .execFailed(id: plan.id, code: code, message: "\(plan.argv[0]): \(reason)"))
    }
  }

  // MARK: - Signals

  private mutating func handleSignal() {
    var info = [UInt8](repeating: 0, count: 128)  // sizeof(struct signalfd_siginfo)
    let n = info.withUnsafeMutableBytes { read(signals, $0.baseAddress!, 128) }
    guard n == 128 else { return }
    let signo = Int32(bitPattern: info.withUnsafeBytes { $0.load(as: UInt32.self) })
    if signo == SIGCHLD {
      reapChildren()
    } else if let main {
      kill(main, signo)
    } else if [SIGTERM, SIGINT, SIGHUP].contains(signo) {
      // An idle sandbox asked to stop: every process in it gets the signal, and
      // the sandbox ends when the last one is gone (the daemon kills it after
      // its grace period otherwise).
      stopping = true
      kill(-1, signo)
      reapChildren()
    }
  }

  /// Reaps every exited process. The command's exit ends the sandbox; an exec's
  /// is reported. An idle sandbox that was asked to stop ends once it has no
  /// process left.
  private mutating func reapChildren() {
    while true {
      var status: Int32 = 0
      let pid = waitpid(-1, &status, WNOHANG)
      if pid < 0 && errno == ECHILD && stopping {
        InitProcess.report(control, .exited(code: 0, signal: 0))
        _exit(0)
      }
      if pid <= 0 { break }
      let signal = WaitStatus.signaled(status) ? WaitStatus.signal(status) : 0
      let code = WaitStatus.shellCode(status)
      if pid == main {
        endEveryProcess()
        InitProcess.report(control, .exited(code: code, signal: signal))
        _exit(code)
      }
      if let id = execs.first(where: { $0.value == pid })?.key {
        execs[id] = nil
        InitProcess.report(control, .execExited(id: id, code: code, signal: signal))
      }
    }
  }

  /// Kills and reaps every other process of the sandbox, so that `exited`
  /// promises nothing of it runs any more: the daemon tells the exit on that
  /// report, while the kernel still tears down the namespaces (about 2 ms that
  /// are then not on the client's path). Our own exit would kill them too, but
  /// only after the report.
  ///
  /// kill(-1) from PID 1 reaches every other process in the namespace; a
  /// process forking meanwhile either gets its child killed too or fails the
  /// fork (the kernel checks for a pending SIGKILL under the same lock). A
  /// killed process's children are re-parented to us before it can be reaped,
  /// so ECHILD means none is left. The signal is sent again at each reap in
  /// case one slipped through.
  private func endEveryProcess() {
    // kill(-1) means "every process of our pid namespace but us" only from its PID 1.
    precondition(getpid() == 1, "hops-init ends every process only as PID 1")
    while true {
      kill(-1, SIGKILL)
      var status: Int32 = 0
      if waitpid(-1, &status, 0) < 0 && errno == ECHILD { return }
    }
  }
}
