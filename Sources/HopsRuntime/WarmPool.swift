import Glibc
import HopsCore
import HopsOS
import Synchronization

/// A few sandboxes' PID 1s started ahead of need, so that a launch only has to
/// hand one its plan.
///
/// What a warm hops-init has done before any request: its namespaces (user,
/// mount, pid, uts, ipc, network) exist, its uid map is written, its sandbox
/// directory and cgroup exist and it sits in that cgroup. Moving a process into
/// a cgroup is the costly part: the kernel waits for an RCU grace period
/// (10-15 ms here) before the first move after a quiet spell, while moves right
/// after one another share that wait. The pool refills in batches on its own
/// thread, so launches never wait for it, and a batch pays the wait once.
///
/// Nothing of a request is in a warm hops-init: its limits are written to the
/// cgroup, its filesystem built and its command chosen at launch, exactly as
/// for one started on the spot. A sandbox that needs what a warm one lacks (a
/// cpuset cgroup) is started on the spot.
public final class WarmPool: Sendable {
  /// How many are kept ready.
  public let size: Int
  private let start: @Sendable () throws -> StartedInit
  private let joinCgroups: @Sendable ([StartedInit]) -> [StartedInit]
  private let wake = CountingSemaphore(value: 0)

  private struct State {
    var ready: [StartedInit] = []
    var stopped = false
    /// The last refill failed: the next waits a moment, so a host that cannot
    /// start sandboxes (out of id ranges, say) is not hammered.
    var failing = false
  }
  private let state = Mutex(State())

  init(
    size: Int, start: @escaping @Sendable () throws -> StartedInit,
    joinCgroups: @escaping @Sendable ([StartedInit]) -> [StartedInit]
  ) {
    self.size = size
    self.start = start
    self.joinCgroups = joinCgroups
    Threads.detach { [self] in self.refillLoop() }
    wake.signal()
  }

  /// A warm hops-init, or nil when none is ready (the launch starts one itself).
  func take() -> StartedInit? {
    let taken = state.withLock { state -> StartedInit? in
      state.stopped || state.ready.isEmpty ? nil : state.ready.removeFirst()
    }
    if taken != nil { wake.signal() }
    return taken
  }

  /// How many are ready now.
  public var readyCount: Int { state.withLock { $0.ready.count } }

  /// Ends every warm hops-init and stops refilling (the daemon is stopping).
  public func drain() {
    let entries = state.withLock { state -> [StartedInit] in
      state.stopped = true
      defer { state.ready = [] }
      return state.ready
    }
    wake.signal()
    entries.forEach { $0.discard() }
  }

  private func refillLoop() {
    // Refills use only CPU time that launches leave idle, and so do the warm
    // hops-inits started here (they inherit it) until a launch takes one
    // (see `SandboxLauncher.launch`): a launch never waits behind the pool.
    ProcessControl.scheduleOnlyWhenIdle()
    while true {
      wake.wait()
      let (missing, stopped, failing) = state.withLock { ($0.stopped ? 0 : size - $0.ready.count, $0.stopped, $0.failing) }
      if stopped { return }
      if missing <= 0 { continue }
      if failing { sleep(1) }
      // Start the whole batch first, then move it into its cgroups back to back:
      // the moves then share one grace period.
      var fresh: [StartedInit] = []
      var failed = false
      for _ in 0..<missing {
        do { fresh.append(try start()) } catch {
          failed = true
          break
        }
      }
      let joined = joinCgroups(fresh)
      failed = failed || joined.count < fresh.count
      let leftover = state.withLock { state -> [StartedInit] in
        state.failing = failed
        if state.stopped { return joined }
        state.ready.append(contentsOf: joined)
        return []
      }
      leftover.forEach { $0.discard() }
      // A failed batch retries (after the pause above) until the pool is full.
      if failed { wake.signal() }
    }
  }
}
