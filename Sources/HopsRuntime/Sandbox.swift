import FoundationEssentials
import Glibc
import HopsCore
import HopsImage
import HopsInit
import HopsOS
import HopsPolicy
import Synchronization

/// One running sandbox, seen from the daemon: its command's streams, its execs,
/// its exit, signals, stop and teardown.
///
/// A monitor thread per sandbox reads the control socket (hops-init's reports),
/// enforces the timeout and samples the process count; each process's output
/// has a thread of its own (ProcessStreams). When hops-init ends, the monitor
/// reaps it, records the exit, and tears down what the sandbox held on the host.
public final class Sandbox: Sendable {
  public let id: String
  /// Its directory on the host, if it has one (see StartedInit.directory).
  public let directory: String?
  public let rootfs: RootfsInfo
  public let initPid: pid_t
  public let limits: ResourceLimits
  /// The overlayfs lower directories the sandbox's root stands on.
  public let lowerDirs: [String]
  /// Whether what it writes to its root is held in memory (and so counts
  /// toward its memory limit); see SandboxMountBuilder.Layers.
  public let layersInMemory: Bool
  public let command: [String]
  /// Seconds since the Unix epoch, and on the monotonic clock, at launch.
  public let startedAt: Double
  private let startedMonotonic: ContinuousClock.Instant
  private let channel: ControlChannel
  /// The command's streams; nil for a sandbox without a command (`hops create`).
  private let main: ProcessStreams?
  private let cgroup: SandboxCgroup?
  private let network: SandboxNetwork?
  private let pendingReport: InitReport?
  /// The environment, directory and user execs start with, unless told otherwise.
  public let execDefaults: (environment: [String], workingDirectory: String, user: String?)
  /// The host ids its user namespace maps to; held until it is torn down.
  private let ids: UserIDRange?
  /// The host id of the sandbox's root.
  public var rootID: UInt32 { ids?.base ?? 0 }

  private struct State {
    /// Set once hops-init has been reaped: its pid may be reused, never signal it again.
    var reaped = false
    var killedBecause: String?
    /// Set when the timeout ended the sandbox: the run exits 124.
    var timedOut = false
    /// The highest process count seen (v1 has no pids.peak).
    var peakProcesses = 0
    var record: SandboxRecord
    var execs: [Int: ExecSession] = [:]
    var nextExecID = 1
    /// Set when the sandbox has ended and its exit is recorded.
    var exit: SandboxExit?
  }
  private let state: Mutex<State>

  init(
    directory: String?, rootfs: RootfsInfo, record: SandboxRecord, channel: ControlChannel, main: ProcessStreams?,
    cgroup: SandboxCgroup?, limits: ResourceLimits, network: SandboxNetwork?,
    pendingReport: InitReport? = nil, lowerDirs: [String] = [], layersInMemory: Bool = false,
    execDefaults: (environment: [String], workingDirectory: String, user: String?), ids: UserIDRange? = nil
  ) {
    self.layersInMemory = layersInMemory
    self.ids = ids
    self.id = record.id
    self.directory = directory
    self.rootfs = rootfs
    self.initPid = record.initPid
    self.channel = channel
    self.main = main
    self.cgroup = cgroup
    self.network = network
    self.pendingReport = pendingReport
    self.limits = limits
    self.lowerDirs = lowerDirs
    self.command = record.command
    self.execDefaults = execDefaults
    self.startedAt = Date().timeIntervalSince1970
    self.startedMonotonic = ContinuousClock.now
    self.state = Mutex(State(record: record))
  }

  /// The sandbox's IPv4 address in the outbound and full modes.
  public var address: String? { network.map { IPv4.format($0.address) } }
  public var record: SandboxRecord { state.withLock { $0.record } }
  public var name: String? { record.name }
  /// The exit, once the sandbox has ended.
  public var exit: SandboxExit? { state.withLock { $0.exit } }

  // MARK: - Life

  /// Starts the monitor, and the command's output to `output` (a detached run's
  /// log; attached runs use `events`). `onExit` gets the final record before
  /// the exit is delivered; `onFinished` runs once teardown is complete.
  public func start(
    output: OutputSink?, onExit: @escaping @Sendable (SandboxRecord) -> Void = { _ in },
    onFinished: @escaping @Sendable () -> Void = {}
  ) {
    if let main, let output { main.start(sink: output) }
    Threads.detach(name: "hopsd-sandbox") { [self] in
      self.monitor(onExit: onExit)
      onFinished()
    }
  }

  /// What `start` does, on the calling thread (a direct run's, which has
  /// nothing else to do meanwhile: one thread and one hand-over fewer a run),
  /// watching `client` too: `onClient` runs whenever it is readable, and
  /// returns false to stop watching it. Returns once the sandbox is torn
  /// down; `onExit` runs before that, as soon as the exit is known.
  public func follow(
    client: Int32, onClient: () -> Bool, onExit: @Sendable (SandboxRecord) -> Void
  ) {
    monitor(onExit: onExit, client: client, onClient: onClient)
  }

  /// An attached run: the command's output then its exit, as a stream. The
  /// consumer calls `consumed()` after handling each event.
  public func events(
    onExit: @escaping @Sendable (SandboxRecord) -> Void = { _ in }, onFinished: @escaping @Sendable () -> Void = {}
  ) -> AsyncStream<SandboxEvent> {
    let (stream, continuation) = AsyncStream<SandboxEvent>.makeStream()
    start(output: .stream(continuation), onExit: onExit, onFinished: onFinished)
    if main == nil {
      continuation.finish()
    }
    return stream
  }

  public func consumed() { main?.consumed() }

  private func monitor(
    onExit: @Sendable (SandboxRecord) -> Void, client: Int32 = -1, onClient: () -> Bool = { false }
  ) {
    var client = client
    var report: InitReport? = pendingReport
    var told = false
    // `exited` comes once hops-init has killed and reaped every other process
    // of the sandbox: its exit can be told then, while hops-init itself ends
    // and the kernel tears down its namespaces (about 2 ms).
    func tellIfExited() {
      guard !told, case .exited = report else { return }
      told = true
      let (killedBecause, timedOut) = state.withLock { ($0.killedBecause, $0.timedOut) }
      tell(report: report, status: 0, killedBecause: killedBecause, timedOut: timedOut, onExit: onExit)
    }
    tellIfExited()
    let deadline = limits.timeoutSeconds.map { startedMonotonic + .milliseconds(Int64($0 * 1000)) }
    while true {
      // Wake up now and then to sample the process count for the peak figure,
      // and for the timeout.
      var timeout: Int32 = cgroup == nil ? -1 : 100
      if let deadline, !told {
        let left = (deadline - ContinuousClock.now).components
        let ms = max(0, Int32(clamping: left.seconds * 1000 + left.attoseconds / 1_000_000_000_000_000) + 1)
        timeout = timeout < 0 ? ms : min(timeout, ms)
      }
      var entries = (
        pollfd(fd: channel.fd, events: Int16(POLLIN), revents: 0), pollfd(fd: client, events: Int16(POLLIN), revents: 0)
      )
      let ready = withUnsafeMutableBytes(of: &entries) { buffer in
        poll(buffer.baseAddress!.assumingMemoryBound(to: pollfd.self), client >= 0 ? 2 : 1, timeout)
      }
      // Sampled on the timer only: a report's wake-up is on the run's path.
      if ready == 0 && cgroup != nil && !told { samplePeakProcesses() }
      if !told, let deadline, ContinuousClock.now >= deadline, let seconds = limits.timeoutSeconds {
        timeOut(after: seconds)
      }
      if ready <= 0 { continue }
      if client >= 0 && entries.1.revents != 0 && !onClient() { client = -1 }
      if entries.0.revents == 0 { continue }
      let open = (try? channel.fill()) ?? false
      while let frame = try? channel.nextFrame() {
        guard let decoded = try? InitReport(json: frame) else { continue }
        handle(decoded, report: &report)
      }
      tellIfExited()
      if !open { break }
    }
    // Reap under the lock that kill() and signal() take, after the exit is
    // known: no signal can ever reach a recycled pid.
    Spawn.waitForExitKeepingPid(initPid)
    let (status, killedBecause, timedOut) = state.withLock { state in
      let status = (try? Spawn.wait(initPid)) ?? 0
      state.reaped = true
      return (status, state.killedBecause, state.timedOut)
    }
    // Without an `exited` report (a failed start, hops-init killed or crashed)
    // the exit is told now, from hops-init's own status.
    if !told { tell(report: report, status: status, killedBecause: killedBecause, timedOut: timedOut, onExit: onExit) }
    channel.close()
    network?.detach()  // done already if it published ports
    // Teardown, once the client has its exit: what the sandbox wrote (nothing
    // of it is kept, and nothing runs in it any more).
    if record.removedOnExit { removeDirectory() }
    // Every process of the sandbox is gone (its pid namespace died with
    // hops-init), so the cgroup can go. The kernel may still count the exiting
    // tasks for a moment (EBUSY); remove() waits that out after the client has
    // its exit, not before. The registry keeps the sandbox until this is done,
    // so a daemon shutdown still waits for it.
    cgroup?.remove()
  }

  /// Records the exit and tells it: to the run's client, to the execs still
  /// attached (their sandbox is gone), and to `onExit`.
  private func tell(
    report: InitReport?, status: Int32, killedBecause: String?, timedOut: Bool,
    onExit: @Sendable (SandboxRecord) -> Void
  ) {
    var usage = currentUsage(final: true)
    usage.timedOut = timedOut
    // A sandbox's published ports are freed before its exit is told: a run
    // started right after this one ends may publish the same ones. Without
    // ports its rules and address go with the rest of the teardown (an
    // nftables transaction, with its fetch of the tables, is not on the path).
    if network?.publishesPorts ?? false { network?.detach() }
    let exit = finish(report: report, status: status, killedBecause: killedBecause, usage: usage)
    let (record, execs) = state.withLock { state in
      state.exit = exit
      defer { state.execs = [:] }
      return (state.record, Array(state.execs.values))
    }
    onExit(record)
    main?.finish(exit)
    for exec in execs {
      exec.ended(SandboxExit(code: 137, signal: SIGKILL, message: "the sandbox ended (\(exit.message ?? "its command exited"))"))
    }
  }

  private func handle(_ report: InitReport, report final: inout InitReport?) {
    switch report {
    case .started, .terminal:
      break
    case .exited, .failed:
      final = report
    case .execStarted:
      break
    case .execTerminal(let id):
      guard let fd = channel.takeDescriptors(1)?.first else { return }
      if let exec = state.withLock({ $0.execs[id] }) { exec.attachTerminal(fd) } else { FD.close(fd) }
    case .execExited(let id, let code, let signal):
      state.withLock { $0.execs.removeValue(forKey: id) }?.ended(SandboxExit(code: code, signal: signal))
    case .execFailed(let id, let code, let message):
      state.withLock { $0.execs.removeValue(forKey: id) }?.ended(SandboxExit(code: code, message: message))
    }
  }

  /// Usage now: the cgroup's counters and the wall time so far. `final`:
  /// at its exit, when only the totals and peaks mean anything.
  public func currentUsage(final: Bool = false) -> SandboxUsage {
    var usage = SandboxUsage()
    let elapsed = (ContinuousClock.now - startedMonotonic).components
    usage.wallSeconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
    if let counters = cgroup?.usage(totalsOnly: final) {
      usage.cpuSeconds = Double(counters.cpuNanos) / 1e9
      usage.memoryBytes = counters.memoryBytes
      usage.peakMemoryBytes = counters.peakMemoryBytes
      usage.processes = counters.processes
      usage.peakProcesses = max(counters.peakProcesses, state.withLock { $0.peakProcesses })
      usage.oomKilled = counters.oomKills > 0
    }
    return usage
  }

  private func samplePeakProcesses() {
    guard let processes = cgroup?.processCount() else { return }
    state.withLock { $0.peakProcesses = max($0.peakProcesses, processes) }
  }

  /// The exit as the user sees it, and the record that keeps it.
  private func finish(report: InitReport?, status: Int32, killedBecause: String?, usage: SandboxUsage) -> SandboxExit {
    var exit: SandboxExit
    switch report {
    case .exited(let code, let signal):
      exit = SandboxExit(code: code, signal: signal, message: killedBecause)
    case .failed(let code, let message):
      exit = SandboxExit(code: code, message: message)
    default:
      // hops-init ended without a report: we killed it, or it crashed.
      if WaitStatus.signaled(status) {
        let signal = WaitStatus.signal(status)
        exit = SandboxExit(code: 128 + signal, signal: signal, message: killedBecause ?? "the sandbox was killed by signal \(signal)")
      } else {
        exit = SandboxExit(code: 125, message: "hops-init exited with status \(WaitStatus.exitCode(status)) without a report")
      }
    }
    exit.usage = usage
    if usage.timedOut {
      exit.code = 124
      exit.message = killedBecause
    } else if usage.oomKilled {
      // The kernel's own counter says the OOM killer struck in this sandbox.
      let limit = limits.memoryBytes.map { " (limit \(Self.formatMiB($0)))" } ?? ""
      // Files the sandbox wrote may be what filled it, which nothing else tells.
      let files = layersInMemory ? "; files written to its root or /tmp are held in memory and count toward it" : ""
      exit.message = "sandbox killed: out of memory\(limit)\(files)"
      if exit.signal == SIGKILL || exit.code == 137 { exit.code = 137 }
    }
    let record = state.withLock { state in
      state.record.exitCode = exit.code
      state.record.exitSignal = exit.signal
      state.record.exitMessage = exit.message
      state.record.finishedAt = Date().timeIntervalSince1970
      state.record.cpuSeconds = usage.cpuSeconds
      state.record.peakMemoryBytes = usage.peakMemoryBytes
      return state.record
    }
    // A removed sandbox's directory goes after its exit is told (see monitor).
    if !record.removedOnExit, let directory {
      try? record.save(to: directory)
      if record.keep { exit.keptPath = directory }
    }
    return exit
  }

  // MARK: - Input and control of the command

  public func writeStdin(_ bytes: [UInt8]) async -> Bool { await main?.writeStdin(bytes) ?? false }

  /// End of stdin: the command reads end-of-file.
  public func closeStdin() { main?.closeStdin() }

  /// The client's window changed: the terminal (and so the command) learns it.
  public func resize(_ size: Terminal.Size) { main?.resize(size) }

  /// Signals a client may send: hops-init forwards them to the command. SIGKILL
  /// and SIGSTOP are not among them: they would hit PID 1 itself.
  public static let forwardableSignals: Set<Int32> = [SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT]

  /// Delivers a signal to hops-init, which forwards it to the command.
  public func signal(_ number: Int32) {
    guard Self.forwardableSignals.contains(number) else { return }
    state.withLock { state in
      if !state.reaped { _ = Glibc.kill(initPid, number) }
    }
  }

  /// The timeout: ends the whole sandbox, and the run exits 124.
  func timeOut(after seconds: Double) {
    state.withLock { state in
      guard !state.reaped, !state.timedOut else { return }
      state.timedOut = true
      state.killedBecause = "sandbox killed: timed out after \(DurationText.format(seconds))"
      _ = Glibc.kill(initPid, SIGKILL)
    }
  }

  static func formatMiB(_ bytes: UInt64) -> String {
    bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : "\(bytes) bytes"
  }

  /// Ends the sandbox now: SIGKILL to its PID 1 kills every process in it.
  /// With `discardOutput`, output still in flight is dropped, so teardown never
  /// waits for a reader that is gone.
  public func kill(reason: String, discardOutput: Bool = false) {
    state.withLock { state in
      guard !state.reaped else { return }
      if state.killedBecause == nil { state.killedBecause = reason }
      _ = Glibc.kill(initPid, SIGKILL)
    }
    if discardOutput { main?.discardOutput() }
  }

  /// `hops stop`: SIGTERM (hops-init forwards it to the command, or to every
  /// process of a sandbox without one), then SIGKILL once `grace` seconds have
  /// passed. Returns the exit.
  public func stop(grace: Double) async -> SandboxExit? {
    state.withLock { state in
      if !state.reaped { _ = Glibc.kill(initPid, SIGTERM) }
    }
    if await waitForExit(seconds: grace) == nil {
      kill(reason: "stopped: still running \(DurationText.format(grace)) after SIGTERM, so killed")
    }
    return await waitForExit(seconds: 30)
  }

  /// The exit, once the sandbox has ended; nil if it still runs after `seconds`.
  public func waitForExit(seconds: Double) async -> SandboxExit? {
    let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
    while true {
      if let exit { return exit }
      if ContinuousClock.now >= deadline { return nil }
      try? await Task.sleep(for: .milliseconds(10))
    }
  }

  // MARK: - Exec

  /// Starts another process in the sandbox (`hops exec`) and returns once it can
  /// be talked to. Its failure to start (command not found...) is its exit.
  public func exec(
    argv: [String], environment: [String], workingDirectory: String, terminal: Terminal.Size?, user: String?
  ) async throws -> ExecSession {
    var own: [Int32] = []
    var passed: [Int32] = []
    defer { passed.forEach(FD.close) }
    var streams: ProcessStreams?
    if terminal == nil {
      do {
        let stdin = try FD.pipe()
        let stdout = try FD.pipe()
        let stderr = try FD.pipe()
        own = [stdin.write, stdout.read, stderr.read]
        passed = [stdin.read, stdout.write, stderr.write]
        try FD.setNonBlocking(stdin.write)
        own.forEach { FD.growPipe($0) }
      } catch {
        (own + passed).forEach(FD.close)
        passed = []
        throw HopsError.failed("cannot create the exec's pipes: \(error)")
      }
      streams = ProcessStreams(stdin: own[0], stdout: own[1], stderr: own[2])
    }
    let channel = self.channel
    let registered: ExecSession?
    do {
      registered = try state.withLock { state in
        guard !state.reaped, state.exit == nil else { return nil }
        guard state.execs.count < Self.maxExecs else {
          throw HopsError(.unavailable, "sandbox \(state.record.name ?? id) already runs \(Self.maxExecs) execs", hint: "wait for some to end")
        }
        let id = state.nextExecID
        state.nextExecID += 1
        let session = ExecSession(id: id, streams: streams) { request, fds in
          try channel.send(Array(try JSONEncoder().encode(request)), descriptors: fds)
        }
        state.execs[id] = session
        return session
      }
    } catch {
      own.forEach(FD.close)
      throw error
    }
    guard let session = registered else {
      own.forEach(FD.close)
      throw Self.notRunning(record)
    }
    let plan = ExecPlan(
      id: session.id, argv: argv, environment: environment, workingDirectory: workingDirectory, terminal: terminal, user: user)
    do {
      try channel.send(Array(try JSONEncoder().encode(InitRequest.exec(plan))), descriptors: passed)
    } catch {
      state.withLock { _ = $0.execs.removeValue(forKey: session.id) }
      session.ended(SandboxExit(code: 125, message: "the sandbox is no longer running"))
    }
    await session.waitUntilReady()
    return session
  }

  /// Execs running at once in one sandbox: each holds a thread and pipes in the daemon.
  public static let maxExecs = 128

  /// A running exec of this sandbox, by id.
  public func execSession(_ id: Int) -> ExecSession? { state.withLock { $0.execs[id] } }

  public static func notRunning(_ record: SandboxRecord) -> HopsError {
    HopsError(
      .unavailable, "sandbox \(record.name ?? record.id) is not running (\(record.state))",
      hint: "see 'hops ps -a'; start a new one with 'hops create' or 'hops run -d'")
  }

  // MARK: - Files

  /// An O_PATH descriptor of the sandbox's root directory, as its processes see
  /// it (through hops-init's /proc entry, so the sandbox's own mounts are there),
  /// taken while hops-init surely is the sandbox's PID 1.
  public func openRoot() throws -> Int32 {
    let fd: Int32? = state.withLock { state in
      guard !state.reaped, state.exit == nil else { return nil }
      return open("/proc/\(initPid)/root", Int32(O_PATH_FLAG) | O_DIRECTORY | O_CLOEXEC)
    }
    guard let fd else { throw Self.notRunning(record) }
    guard fd >= 0 else { throw HopsError.failed("cannot open the sandbox's root: \(errnoString(errno))") }
    return fd
  }

  private func removeDirectory() {
    guard let directory else { return }
    do { try FileTree.remove(directory) } catch {
      // The overlay's work directory can briefly stay busy while the kernel tears
      // the namespace down; one retry covers it.
      usleep(20_000)
      try? FileTree.remove(directory)
    }
  }
}
