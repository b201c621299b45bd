import FoundationEssentials
import Glibc
import HopsCore
import HopsImage
import HopsInit
import HopsOS
import HopsPolicy
import Synchronization

/// One running sandbox, seen from the daemon: its stdin, its output and exit as a
/// stream of events, signals, and teardown.
///
/// A monitor thread per sandbox polls stdout, stderr and the control socket, so
/// blocking reads never occupy the daemon's async threads. Output is handed over
/// with a small credit window: the thread stops reading when the client falls
/// behind, and the pipe's own back-pressure then slows the command down.
public final class Sandbox: Sendable {
  public let id: String
  public let directory: String
  public let rootfs: RootfsInfo
  public let initPid: pid_t
  private let record: SandboxRecord
  private let stdinFD: Int32
  private let stdoutFD: Int32
  private let stderrFD: Int32
  private let controlFD: Int32
  private let cgroup: SandboxCgroup?
  private let network: SandboxNetwork?
  /// The master end of the command's terminal, or -1 without one. With a
  /// terminal, stdin goes to it and its output comes back as stdout.
  private let terminalFD: Int32
  private let pendingReport: InitReport?
  /// The sandbox's IPv4 address in the outbound and full modes.
  public var address: String? { network.map { IPv4.format($0.address) } }
  public let limits: ResourceLimits
  /// The overlayfs lower directories the sandbox's root stands on.
  public let lowerDirs: [String]
  public let command: [String]
  /// Seconds since the Unix epoch, and on the monotonic clock, at launch.
  public let startedAt: Double
  private let startedMonotonic: ContinuousClock.Instant

  private struct State {
    var stdinOpen = true
    /// Set once hops-init has been reaped: its pid may be reused, never signal it again.
    var reaped = false
    var killedBecause: String?
    /// Nobody reads the output any more (the client is gone): drop it, never wait.
    var discardOutput = false
    /// Set when the timeout ended the sandbox: the run exits 124.
    var timedOut = false
    /// The highest process count seen (v1 has no pids.peak).
    var peakProcesses = 0
  }
  private let state = Mutex(State())
  private let credits = CountingSemaphore(value: 8)

  init(
    id: String, directory: String, rootfs: RootfsInfo, record: SandboxRecord, initPid: pid_t,
    stdin: Int32, stdout: Int32, stderr: Int32, control: Int32,
    cgroup: SandboxCgroup?, limits: ResourceLimits, network: SandboxNetwork?,
    terminal: Int32 = -1, pendingReport: InitReport? = nil, lowerDirs: [String] = []
  ) {
    self.id = id
    self.directory = directory
    self.rootfs = rootfs
    self.record = record
    self.initPid = initPid
    self.stdinFD = stdin
    self.stdoutFD = stdout
    self.stderrFD = stderr
    self.controlFD = control
    self.cgroup = cgroup
    self.network = network
    self.terminalFD = terminal
    self.pendingReport = pendingReport
    self.limits = limits
    self.lowerDirs = lowerDirs
    self.command = record.command
    self.startedAt = Date().timeIntervalSince1970
    self.startedMonotonic = ContinuousClock.now
  }

  // MARK: - Events

  /// Starts the monitor; the stream ends after the exit event. Call once. The
  /// consumer calls `consumed()` after handling each output event.
  /// `onFinished` runs on the monitor thread after teardown is complete.
  public func events(onFinished: @escaping @Sendable () -> Void = {}) -> AsyncStream<SandboxEvent> {
    let (stream, continuation) = AsyncStream<SandboxEvent>.makeStream()
    Threads.detach { [self] in
      self.monitor(continuation)
      onFinished()
    }
    return stream
  }

  public func consumed() { credits.signal() }

  private func monitor(_ continuation: AsyncStream<SandboxEvent>.Continuation) {
    var open: [Int32] = [stdoutFD, stderrFD, controlFD] + (terminalFD >= 0 ? [terminalFD] : [])
    var report: InitReport? = pendingReport
    var controlBuffer: [UInt8] = []
    while !open.isEmpty {
      var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
      // Wake up now and then to sample the process count for the peak figure.
      let ready = poll(&fds, nfds_t(fds.count), cgroup == nil ? -1 : 100)
      if cgroup != nil { samplePeakProcesses() }
      if ready <= 0 { continue }
      for entry in fds where entry.revents != 0 {
        guard let chunk = Self.readChunk(entry.fd) else { continue }
        if chunk.isEmpty {
          open.removeAll { $0 == entry.fd }
          continue
        }
        if entry.fd == controlFD {
          controlBuffer += chunk
          while let message = FramedMessages.take(from: &controlBuffer) {
            if let decoded = try? JSONDecoder().decode(InitReport.self, from: Data(message)) {
              if case .started = decoded { continue }
              if case .terminal = decoded { continue }
              report = decoded
            }
          }
        } else if !state.withLock({ $0.discardOutput }) {
          credits.wait()
          if state.withLock({ $0.discardOutput }) { continue }
          continuation.yield(entry.fd == stderrFD ? .stderr(chunk) : .stdout(chunk))
        }
      }
    }
    // Reap under the lock that kill() and signal() take, after the exit is
    // known: no signal can ever reach a recycled pid.
    Spawn.waitForExitKeepingPid(initPid)
    let (status, killedBecause, timedOut) = state.withLock { state in
      let status = (try? Spawn.wait(initPid)) ?? 0
      state.reaped = true
      return (status, state.killedBecause, state.timedOut)
    }
    for fd in [stdoutFD, stderrFD, controlFD] { FD.close(fd) }
    closeStdin()
    state.withLock { _ in FD.close(terminalFD) }
    var usage = currentUsage()
    usage.timedOut = timedOut
    // The network goes before the exit is told: a run started right after this
    // one ends may publish the same ports.
    network?.detach()
    continuation.yield(.exit(finish(report: report, status: status, killedBecause: killedBecause, usage: usage)))
    continuation.finish()
    // Every process of the sandbox is gone (its pid namespace died with
    // hops-init), so the cgroup can go. The kernel may still count the exiting
    // tasks for a moment (EBUSY); remove() waits that out after the client has
    // its exit, not before. The registry keeps the sandbox until this is done,
    // so a daemon shutdown still waits for it.
    cgroup?.remove()
  }

  /// Usage now: the cgroup's counters and the wall time so far.
  public func currentUsage() -> SandboxUsage {
    var usage = SandboxUsage()
    let elapsed = (ContinuousClock.now - startedMonotonic).components
    usage.wallSeconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
    if let counters = cgroup?.usage() {
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
    guard let processes = cgroup?.usage().processes else { return }
    state.withLock { $0.peakProcesses = max($0.peakProcesses, processes) }
  }

  private func finish(report: InitReport?, status: Int32, killedBecause: String?, usage: SandboxUsage) -> SandboxExit {
    var exit: SandboxExit
    switch report {
    case .exited(let code, let signal):
      exit = SandboxExit(code: code, signal: signal)
    case .failed(let code, let message):
      exit = SandboxExit(code: code, message: message)
    case .started, .terminal, .none:
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
      exit.message = "sandbox killed: out of memory\(limit)"
      if exit.signal == SIGKILL || exit.code == 137 { exit.code = 137 }
    }
    var final = record
    final.exitCode = exit.code
    if record.keep {
      try? final.save(to: directory)
      exit.keptPath = directory
    } else {
      removeDirectory()
    }
    return exit
  }

  /// One read: the bytes, [] at end of file, nil when nothing is there yet. A
  /// terminal's master reads EIO once every holder of the slave is gone: its end.
  static func readChunk(_ fd: Int32) -> [UInt8]? {
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
      let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
      if n >= 0 { return Array(buffer[0..<n]) }
      if errno == EINTR { continue }
      return errno == EAGAIN ? nil : []
    }
  }

  // MARK: - Input and control

  /// Writes to the command's stdin without ever blocking a thread: the pipe is
  /// non-blocking, and a full pipe is retried after a short sleep. Returns false
  /// when the command no longer reads stdin (the data is dropped, as a pipe would).
  public func writeStdin(_ bytes: [UInt8]) async -> Bool {
    var offset = 0
    while offset < bytes.count {
      // The write happens under the lock, so closeStdin() cannot close the fd
      // (and another sandbox reuse its number) between the check and the write.
      let n: Int? = state.withLock { state in
        guard state.stdinOpen, !state.reaped else { return nil }
        let target = terminalFD >= 0 ? terminalFD : stdinFD
        return bytes.withUnsafeBytes { Glibc.write(target, $0.baseAddress! + offset, bytes.count - offset) }
      }
      guard let n else { return false }
      if n > 0 {
        offset += n
      } else if n < 0 && (errno == EAGAIN || errno == EINTR) {
        try? await Task.sleep(for: .milliseconds(1))
      } else {
        return false
      }
    }
    return true
  }

  /// End of stdin: the command reads end-of-file.
  public func closeStdin() {
    state.withLock { state in
      if state.stdinOpen { FD.close(stdinFD) }
      state.stdinOpen = false
    }
  }

  /// The client's window changed: the terminal (and so the command) learns it.
  public func resize(_ size: Terminal.Size) {
    state.withLock { state in
      if terminalFD >= 0 && !state.reaped { Terminal.setSize(terminalFD, size) }
    }
  }

  public var hasTerminal: Bool { terminalFD >= 0 }

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
  public func timeOut(after seconds: Double) {
    state.withLock { state in
      guard !state.reaped else { return }
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
      if discardOutput { state.discardOutput = true }
      guard !state.reaped else { return }
      if state.killedBecause == nil { state.killedBecause = reason }
      _ = Glibc.kill(initPid, SIGKILL)
    }
    if discardOutput { credits.signal() }
  }

  private func removeDirectory() {
    do { try FileManager.default.removeItem(atPath: directory) } catch {
      // The overlay's work directory can briefly stay busy while the kernel tears
      // the namespace down; one retry covers it.
      usleep(20_000)
      try? FileManager.default.removeItem(atPath: directory)
    }
  }
}
