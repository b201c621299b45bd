import Synchronization

/// The sandboxes this daemon is running, so status can count them and shutdown
/// can end them all.
public final class SandboxRegistry: Sendable {
  private let active = Mutex<[String: Sandbox]>([:])

  public init() {}

  public var count: Int { active.withLock { $0.count } }

  public func add(_ sandbox: Sandbox) { active.withLock { $0[sandbox.id] = sandbox } }
  public func remove(_ sandbox: Sandbox) { _ = active.withLock { $0.removeValue(forKey: sandbox.id) } }

  /// Waits (up to `seconds`) until every sandbox has been torn down.
  public func waitUntilEmpty(seconds: Double) async {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while count > 0 && ContinuousClock.now < deadline {
      try? await Task.sleep(for: .milliseconds(10))
    }
  }

  /// Kills every running sandbox; each run's own task then finishes its teardown.
  public func killAll(reason: String) {
    for sandbox in active.withLock({ Array($0.values) }) {
      sandbox.kill(reason: reason)
    }
  }
}
