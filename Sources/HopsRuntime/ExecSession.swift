import Glibc
import HopsInit
import HopsOS
import Synchronization

/// One `hops exec`: a process hops-init started in a running sandbox, its
/// streams, and its exit (which hops-init reports over the control socket).
public final class ExecSession: Sendable {
  public let id: Int
  private let sendRequest: @Sendable (InitRequest, [Int32]) throws -> Void

  private struct State {
    var streams: ProcessStreams?
    /// The exit, when it came before the streams existed (a failed start).
    var earlyExit: SandboxExit?
    var waiter: CheckedContinuation<Void, Never>?
    var ready = false
  }
  private let state = Mutex(State())

  init(id: Int, streams: ProcessStreams?, send: @escaping @Sendable (InitRequest, [Int32]) throws -> Void) {
    self.id = id
    self.sendRequest = send
    state.withLock {
      $0.streams = streams
      $0.ready = streams != nil
    }
  }

  /// Waits until the process can be talked to: at once with pipes, after its
  /// terminal's master arrived with one, or once it failed to start.
  func waitUntilReady() async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
      let now = state.withLock { state -> Bool in
        if state.ready { return true }
        state.waiter = continuation
        return false
      }
      if now { continuation.resume() }
    }
  }

  /// The terminal's master came back from hops-init.
  func attachTerminal(_ fd: Int32) {
    _ = try? FD.setNonBlocking(fd)
    let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
      state.streams = ProcessStreams(stdin: -1, stdout: -1, stderr: -1, terminal: fd)
      state.ready = true
      defer { state.waiter = nil }
      return state.waiter
    }
    waiter?.resume()
  }

  /// hops-init reported the end (or the failed start) of the process, or the
  /// sandbox itself ended.
  func ended(_ exit: SandboxExit) {
    let (streams, waiter) = state.withLock { state -> (ProcessStreams?, CheckedContinuation<Void, Never>?) in
      if state.streams == nil && state.earlyExit == nil { state.earlyExit = exit }
      state.ready = true
      defer { state.waiter = nil }
      return (state.streams, state.waiter)
    }
    streams?.finish(exit)
    waiter?.resume()
  }

  /// Output, then exactly one exit. Call once, after `waitUntilReady`.
  public func events(onDone: @escaping @Sendable () -> Void) -> AsyncStream<SandboxEvent> {
    let (stream, continuation) = AsyncStream<SandboxEvent>.makeStream()
    let (streams, early) = state.withLock { ($0.streams, $0.earlyExit) }
    if let streams {
      streams.start(sink: .stream(continuation), onDone: onDone)
    } else {
      continuation.yield(.exit(early ?? SandboxExit(code: 125, message: "the exec ended before it started")))
      continuation.finish()
      onDone()
    }
    return stream
  }

  public func consumed() { state.withLock { $0.streams }?.consumed() }

  public func writeStdin(_ bytes: [UInt8]) async -> Bool {
    guard let streams = state.withLock({ $0.streams }) else { return false }
    return await streams.writeStdin(bytes)
  }

  public func closeStdin() { state.withLock { $0.streams }?.closeStdin() }

  public func resize(_ size: Terminal.Size) { state.withLock { $0.streams }?.resize(size) }

  /// Forwards a signal to the process (the forwardable ones only).
  public func signal(_ number: Int32) {
    guard Sandbox.forwardableSignals.contains(number) else { return }
    try? sendRequest(.signal(exec: id, signal: number), [])
  }

  /// The client went away: the process is killed and its output dropped.
  public func abandon() {
    try? sendRequest(.signal(exec: id, signal: SIGKILL), [])
    state.withLock { $0.streams }?.discardOutput()
  }
}
