import Glibc
import Synchronization

/// Threads for work that blocks (a direct run's session: the launch, then
/// waiting for its exit), kept when their work is done for the next: a thread
/// started and ended for every run cost its clone, its exit and its stack
/// given back, 0.03 ms of CPU a run. At most `keepIdle` wait; more are
/// started when all are busy, and those beyond `keepIdle` end once done.
public final class ReusedThreads: Sendable {
  private let name: String
  private let keepIdle: Int
  private let ready = CountingSemaphore(value: 0)

  private struct State {
    var idle = 0
    var work: [@Sendable () -> Void] = []
  }
  private let state = Mutex(State())

  public init(name: String, keepIdle: Int) {
    self.name = name
    self.keepIdle = keepIdle
  }

  /// Runs `body` on a waiting thread, or on a new one; false if none could be
  /// started (the work is not done).
  public func run(_ body: @escaping @Sendable () -> Void) -> Bool {
    let handed = state.withLock { state -> Bool in
      guard state.idle > 0 else { return false }
      state.idle -= 1
      state.work.append(body)
      return true
    }
    if handed {
      ready.signal()
      return true
    }
    return Threads.start(name: name) { [self] in
      body()
      work()
    }
  }

  /// A thread's life after its first work: wait for more, or end if enough
  /// others wait already.
  private func work() {
    while state.withLock({ state -> Bool in
      guard state.idle < keepIdle else { return false }
      state.idle += 1
      return true
    }) {
      ready.wait()
      let body = state.withLock { $0.work.removeFirst() }
      body()
    }
  }
}
