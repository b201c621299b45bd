import Glibc
import HopsOS
import Synchronization

/// Where a process's output goes.
public enum OutputSink: Sendable {
  /// To a client, through the stream, with a credit window: the reading thread
  /// stops when the client falls behind, and the pipe's back-pressure then
  /// slows the process down. The exit comes last.
  case stream(AsyncStream<SandboxEvent>.Continuation)
  /// To the sandbox's log on disk (detached runs).
  case log(SandboxLog)
}

/// The stdin, stdout, stderr (or terminal) of one process in a sandbox: its
/// command or an exec. A thread of its own reads the output, so blocking reads
/// never occupy the daemon's async threads; stdin is written without blocking.
final class ProcessStreams: Sendable {
  private let stdinFD: Int32
  private let stdoutFD: Int32
  private let stderrFD: Int32
  /// A terminal's master end, or -1. With one, stdin goes to it and its output
  /// comes back as stdout.
  let terminalFD: Int32

  private struct State {
    var stdinOpen = true
    /// The descriptors are closed: nothing may touch them (their numbers may
    /// already belong to something else).
    var closed = false
    /// Nobody reads the output any more (the client is gone): drop it, never wait.
    var discard = false
    var exit: SandboxExit?
  }
  private let state = Mutex(State())
  private let credits = CountingSemaphore(value: 8)
  private let exitKnown = CountingSemaphore(value: 0)

  /// Takes ownership of the descriptors (-1 for those it has not).
  init(stdin: Int32, stdout: Int32, stderr: Int32, terminal: Int32 = -1) {
    stdinFD = stdin
    stdoutFD = stdout
    stderrFD = stderr
    terminalFD = terminal
  }

  /// Starts the output thread. The output comes first, then the exit once
  /// `finish` gives it; then `onDone`.
  func start(sink: OutputSink, onDone: @escaping @Sendable () -> Void = {}) {
    Threads.detach(name: "hopsd-output") { [self] in
      pump(sink)
      onDone()
    }
  }

  /// The process ended: its exit, delivered after the output still in flight.
  func finish(_ exit: SandboxExit) {
    let first = state.withLock { state in
      guard state.exit == nil else { return false }
      state.exit = exit
      return true
    }
    if first { exitKnown.signal() }
  }

  /// The client handled one output event.
  func consumed() { credits.signal() }

  /// The client is gone: output in flight is dropped, and nothing waits for it.
  func discardOutput() {
    state.withLock { $0.discard = true }
    credits.signal()
  }

  private func pump(_ sink: OutputSink) {
    var open = [stdoutFD, stderrFD, terminalFD].filter { $0 >= 0 }
    while !open.isEmpty {
      var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
      // Once the exit is known, what is already in the pipes is read and no
      // more is waited for: an exec's background child may hold them open.
      let exited = state.withLock { $0.exit != nil }
      let ready = poll(&fds, nfds_t(fds.count), exited ? 0 : 200)
      if ready == 0 && exited { break }
      if ready <= 0 { continue }
      for entry in fds where entry.revents != 0 {
        guard let chunk = Self.readChunk(entry.fd) else { continue }
        if chunk.isEmpty {
          open.removeAll { $0 == entry.fd }
          continue
        }
        deliver(chunk, stderr: entry.fd == stderrFD, to: sink)
      }
    }
    exitKnown.wait()
    let exit = state.withLock { state in
      state.closed = true
      for fd in [stdoutFD, stderrFD, terminalFD] { FD.close(fd) }
      if state.stdinOpen { FD.close(stdinFD) }
      state.stdinOpen = false
      return state.exit!
    }
    if case .stream(let continuation) = sink {
      continuation.yield(.exit(exit))
      continuation.finish()
    }
  }

  private func deliver(_ chunk: [UInt8], stderr: Bool, to sink: OutputSink) {
    switch sink {
    case .log(let log):
      log.append(stream: stderr ? 2 : 1, chunk)
    case .stream(let continuation):
      if state.withLock({ $0.discard }) { return }
      credits.wait()
      if state.withLock({ $0.discard }) { return }
      continuation.yield(stderr ? .stderr(chunk) : .stdout(chunk))
    }
  }

  /// One read: the bytes, [] at end of file, nil when nothing is there yet. A
  /// terminal's master reads EIO once every holder of the slave is gone: its end.
  static func readChunk(_ fd: Int32) -> [UInt8]? {
    // Up to a grown pipe's worth: fewer, larger messages to the client.
    var buffer = [UInt8](repeating: 0, count: 256 << 10)
    while true {
      let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
      if n >= 0 { return Array(buffer[0..<n]) }
      if errno == EINTR { continue }
      return errno == EAGAIN ? nil : []
    }
  }

  // MARK: - Input

  /// Writes to stdin without ever blocking a thread: the pipe is non-blocking,
  /// and a full pipe is retried after a short sleep. False when the process no
  /// longer reads stdin (the data is dropped, as a pipe would).
  func writeStdin(_ bytes: [UInt8]) async -> Bool {
    var offset = 0
    while offset < bytes.count {
      // Under the lock, so the descriptor cannot be closed (and its number
      // reused) between the check and the write.
      let n: Int? = state.withLock { state in
        guard state.stdinOpen, !state.closed else { return nil }
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

  /// End of stdin: the process reads end-of-file. (On a terminal, stdin is the
  /// terminal and stays: the user ends it with Ctrl-D.)
  func closeStdin() {
    state.withLock { state in
      if state.stdinOpen && !state.closed { FD.close(stdinFD) }
      state.stdinOpen = false
    }
  }

  func resize(_ size: Terminal.Size) {
    state.withLock { state in
      if terminalFD >= 0 && !state.closed { Terminal.setSize(terminalFD, size) }
    }
  }
}
