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
/// Nothing of a request is in a warm hops-init: its cgroup has the default
/// profile's limits, and a request's own are written over them at launch
/// (SandboxCgroup.apply writes only what differs); its filesystem is built
/// and its command chosen at launch, exactly as for one started on the spot.
/// A sandbox that needs what a warm one lacks (a cpuset cgroup) is started on
/// the spot.
public final class WarmPool: Sendable {
  /// How many are kept ready.
  public let size: Int
  private let start: @Sendable () throws -> StartedInit
  private let joinCgroups: @Sendable ([StartedInit]) -> [StartedInit]
  private let wake = CountingSemaphore(value: 0)

  private struct State {
    var ready: [StartedInit] = []
    var stopped = false
    /// A batch is being started: `drain` waits for it.
    var refilling = false
    /// The last refill failed: the next waits a moment, so a host that cannot
    /// start sandboxes (out of id ranges, say) is not hammered.
    var failing = false
  }
  private let state = Mutex(State())

  /// The refill thread's nice value: below launches, but never starved (it
  /// takes kernel locks, namespace and cgroup ones, that launches need too).
  static let refillNice: Int32 = 10

  init(
    size: Int, start: @escaping @Sendable () throws -> StartedInit,
    joinCgroups: @escaping @Sendable ([StartedInit]) -> [StartedInit]
  ) {
    self.size = size
    self.start = start
    self.joinCgroups = joinCgroups
    wake.signal()
    if !Threads.start(name: "hopsd-warm-pool", { [self] in self.refillLoop() }) {
      // No thread, no pool: every launch starts its hops-init on the spot.
      state.withLock { $0.stopped = true }
    }
  }

  /// A warm hops-init that `serves` accepts, or nil when none is ready (the
  /// launch starts one itself). Only an accepted one leaves the pool, so a
  /// request no warm one can serve wakes no refill. One that died while
  /// waiting (killed from outside) is discarded, not given.
  func take(where serves: (StartedInit) -> Bool) -> StartedInit? {
    var dead: [StartedInit] = []
    defer {
      if !dead.isEmpty {
        wake.signal()
        let discarded = dead
        Threads.detach(name: "hopsd-discard") { discarded.forEach { $0.discard() } }
      }
    }
    while true {
      let taken = state.withLock { state -> StartedInit? in
        guard !state.stopped, let index = state.ready.firstIndex(where: serves) else { return nil }
        return state.ready.remove(at: index)
      }
      guard let taken else { return nil }
      if taken.isAlive {
        wake.signal()
        return taken
      }
      dead.append(taken)
    }
  }

  /// A warm hops-init a launch took but did not use (the request was refused
  /// before anything of it reached the hops-init): ready again. The refill
  /// may have replaced it already, so the pool may hold a few more than
  /// `size` until the next launches.
  func giveBack(_ entry: StartedInit) {
    let kept = state.withLock { state -> Bool in
      guard !state.stopped, state.ready.count < 2 * size else { return false }
      state.ready.insert(entry, at: 0)
      return true
    }
    if !kept { entry.discard() }
  }

  /// Ends every warm hops-init and stops refilling (the daemon is stopping);
  /// a batch being started is waited for (a few seconds at most), so nothing
  /// of it outlives the daemon.
  public func drain() {
    state.withLock { $0.stopped = true }
    wake.signal()
    for _ in 0..<500 where state.withLock({ $0.refilling }) { usleep(10_000) }
    let entries = state.withLock { state -> [StartedInit] in
      defer { state.ready = [] }
      return state.ready
    }
    entries.forEach { $0.discard() }
  }

  private func refillLoop() {
    ProcessControl.setNice(Self.refillNice)
    while true {
      wake.wait()
      let (missing, stopped, failing) = state.withLock { state in
        if !state.stopped { state.refilling = true }
        return (state.stopped ? 0 : size - state.ready.count, state.stopped, state.failing)
      }
      if stopped { return }
      if missing <= 0 {
        state.withLock { $0.refilling = false }
        continue
      }
      if failing { sleep(1) }
      // Start the whole batch first, then move it into its cgroups back to back:
      // the moves then share one grace period.
      var fresh: [StartedInit] = []
      var failed = false
      for _ in 0..<missing where !state.withLock({ $0.stopped }) {
        do { fresh.append(try start()) } catch {
          failed = true
          break
        }
      }
      let joined = joinCgroups(fresh)
      // While it waits, a warm hops-init runs only on idle CPU time (its own
      // start-up included); the launch that takes it sets it back.
      for entry in joined { ProcessControl.scheduleOnlyWhenIdle(entry.pid) }
      failed = failed || joined.count < fresh.count
      let leftover = state.withLock { state -> [StartedInit] in
        state.failing = failed
        if state.stopped { return joined }
        state.ready.append(contentsOf: joined)
        return []
      }
      leftover.forEach { $0.discard() }
      state.withLock { $0.refilling = false }
      // A failed batch retries (after the pause above) until the pool is full.
      if failed { wake.signal() }
    }
  }
}
