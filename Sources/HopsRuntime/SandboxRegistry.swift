import Synchronization

/// The sandboxes this daemon is running, so status can count them and shutdown
/// can end them all.
public final class SandboxRegistry: Sendable {
  private struct State {
    var active: [String: Sandbox] = [:]
    /// Set by killAll: no new sandbox may start while the daemon stops.
    var closing = false
  }
  private let state = Mutex(State())

  public init() {}

  public var count: Int { state.withLock { $0.active.count } }

  /// Registers a started sandbox. Once closing it returns false: the caller must
  /// kill it. It is registered all the same, so that shutdown waits for its
  /// teardown like any other's.
  public func add(_ sandbox: Sandbox) -> Bool {
    state.withLock { state in
      state.active[sandbox.id] = sandbox
      return !state.closing
    }
  }

  public func find(_ id: String) -> Sandbox? { state.withLock { $0.active[id] } }

  /// The running sandboxes, oldest first.
  public var all: [Sandbox] { state.withLock { Array($0.active.values) }.sorted { $0.startedAt < $1.startedAt } }

  public func remove(_ sandbox: Sandbox) { _ = state.withLock { $0.active.removeValue(forKey: sandbox.id) } }

  /// Waits (up to `seconds`) until every sandbox has been torn down.
  public func waitUntilEmpty(seconds: Double) async {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while count > 0 && ContinuousClock.now < deadline {
      try? await Task.sleep(for: .milliseconds(10))
    }
  }

  /// Refuses new sandboxes and kills every running one; each run's monitor then
  /// finishes its teardown. Output still in flight is dropped, so a stalled
  /// client cannot hold the shutdown up.
  public func killAll(reason: String) {
    let sandboxes = state.withLock { state in
      state.closing = true
      return Array(state.active.values)
    }
    for sandbox in sandboxes {
      sandbox.kill(reason: reason, discardOutput: true)
    }
  }
}
