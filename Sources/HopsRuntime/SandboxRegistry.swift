import FoundationEssentials
import HopsCore
import Synchronization

/// Every sandbox this daemon knows: the running ones, and the stopped ones whose
/// records are on disk (loaded at start-up, so they survive a daemon restart).
/// Names are unique among all of them; a sandbox is found by id, name, or a
/// unique id prefix.
public final class SandboxRegistry: Sendable {
  public enum Entry: Sendable {
    /// Its name is taken while it is being launched.
    case launching(name: String?)
    case running(Sandbox)
    case stopped(SandboxRecord)

    public var record: SandboxRecord? {
      switch self {
      case .launching: nil
      case .running(let sandbox): sandbox.record
      case .stopped(let record): record
      }
    }
  }

  private struct State {
    var entries: [String: Entry] = [:]
    /// Sandboxes whose teardown is not complete yet (shutdown waits for them).
    var tearingDown: Set<String> = []
    /// Set by killAll: no new sandbox may start while the daemon stops.
    var closing = false
  }
  private let state = Mutex(State())
  /// Sandboxes running or being launched at once.
  public let maxRunning: Int

  public init(stopped records: [SandboxRecord] = [], maxRunning: Int = .max) {
    self.maxRunning = maxRunning
    state.withLock { state in
      for record in records { state.entries[record.id] = .stopped(record) }
    }
  }

  /// Loads the records of stopped sandboxes from `$HOPS_HOME/sandboxes`.
  public static func loadStopped(home: HopsHome) -> [SandboxRecord] {
    let ids = (try? FileManager.default.contentsOfDirectory(atPath: home.sandboxesDir)) ?? []
    return ids.compactMap { SandboxRecord.load(from: home.sandbox(id: $0)) }.filter { !$0.isRunning }
  }

  /// Running sandboxes (teardown included).
  public var count: Int { state.withLock { $0.tearingDown.count } }

  /// Takes `name` for the sandbox `id` about to be launched; throws if another
  /// sandbox, running or stopped, has it.
  public func reserve(id: String, name: String?) throws {
    try state.withLock { state in
      if state.closing { throw HopsError(.unavailable, "hopsd is stopping", hint: "run again once it has restarted") }
      let busy = state.entries.values.filter { if case .stopped = $0 { false } else { true } }.count
      if busy >= maxRunning {
        throw HopsError(
          .unavailable, "too many sandboxes: \(busy) are running, the limit is \(maxRunning)",
          hint: "stop some ('hops ps', 'hops stop'), or start hopsd with a higher --max-sandboxes")
      }
      if let name {
        let holder = state.entries.first { entry in
          switch entry.value {
          case .launching(let other): other == name
          default: entry.value.record?.name == name
          }
        }
        if let holder {
          throw HopsError(
            .alreadyExists, "the name '\(name)' is taken by sandbox \(holder.key)",
            hint: "choose another name, or remove that sandbox with 'hops rm \(name)'")
        }
      }
      state.entries[id] = .launching(name: name)
    }
  }

  /// The launch failed: the name is free again.
  public func release(id: String) { _ = state.withLock { $0.entries.removeValue(forKey: id) } }

  /// Registers a started sandbox. Once closing it returns false: the caller must
  /// kill it. It is registered all the same, so that shutdown waits for its
  /// teardown like any other's.
  public func add(_ sandbox: Sandbox) -> Bool {
    state.withLock { state in
      state.entries[sandbox.id] = .running(sandbox)
      state.tearingDown.insert(sandbox.id)
      return !state.closing
    }
  }

  /// The sandbox ended: stopped, or gone when nothing of it is kept.
  public func exited(_ record: SandboxRecord) {
    state.withLock { state in
      state.entries[record.id] = record.removedOnExit ? nil : .stopped(record)
    }
  }

  /// Its teardown is complete.
  public func tornDown(_ sandbox: Sandbox) { _ = state.withLock { $0.tearingDown.remove(sandbox.id) } }

  /// Whether a sandbox's teardown is still under way: its exit is told before
  /// hops-init and its mounts are gone (see Sandbox.monitor).
  public func isTearingDown(id: String) -> Bool { state.withLock { $0.tearingDown.contains(id) } }

  /// Forgets a stopped sandbox (`hops rm`); its directory is the caller's to remove.
  public func forget(id: String) {
    state.withLock { state in
      if case .stopped = state.entries[id] { state.entries[id] = nil }
    }
  }

  public func find(_ id: String) -> Sandbox? {
    state.withLock { state in
      if case .running(let sandbox) = state.entries[id] { return sandbox }
      return nil
    }
  }

  /// A sandbox by id, name, or unique id prefix.
  public func resolve(_ reference: String) throws -> Entry {
    try state.withLock { state in
      if reference.isEmpty { throw HopsError.invalid("no sandbox named", hint: "give a name or id from 'hops ps -a'") }
      if reference.utf8.count > 64 || reference.utf8.contains(0) {
        throw HopsError.invalid("'\(reference.prefix(64))…' is not a sandbox name or id", hint: "see 'hops ps -a'")
      }
      let known = state.entries.filter { if case .launching = $0.value { false } else { true } }
      if let entry = known[reference] { return entry }
      if let byName = known.first(where: { $0.value.record?.name == reference }) { return byName.value }
      let matches = known.filter { $0.key.hasPrefix(reference) }
      if matches.count == 1 { return matches.first!.value }
      if matches.isEmpty {
        throw HopsError.notFound("no sandbox '\(reference)'", hint: "see 'hops ps -a' for names and ids")
      }
      throw HopsError.invalid(
        "'\(reference)' is the start of \(matches.count) sandbox ids (\(matches.keys.sorted().joined(separator: ", ")))",
        hint: "give more of the id, or the name")
    }
  }

  /// Running sandboxes, oldest first.
  public var all: [Sandbox] {
    state.withLock { state in
      state.entries.values.compactMap { if case .running(let sandbox) = $0 { sandbox } else { nil } }
    }.sorted { $0.startedAt < $1.startedAt }
  }

  /// Every known sandbox, running and stopped, oldest first.
  public var everything: [Entry] {
    state.withLock { Array($0.entries.values) }
      .filter { $0.record != nil }
      .sorted { ($0.record?.createdAt ?? 0) < ($1.record?.createdAt ?? 0) }
  }

  /// Waits (up to `seconds`) until every sandbox has been torn down.
  public func waitUntilEmpty(seconds: Double) async {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while count > 0 && ContinuousClock.now < deadline {
      try? await Task.sleep(for: .milliseconds(10))
    }
  }

  /// Refuses new sandboxes and kills every running one; each one's monitor then
  /// finishes its teardown and records its exit. Output still in flight is
  /// dropped, so a stalled client cannot hold the shutdown up.
  public func killAll(reason: String) {
    let sandboxes = state.withLock { state in
      state.closing = true
      return state.entries.values.compactMap { if case .running(let sandbox) = $0 { sandbox } else { nil } }
    }
    for sandbox in sandboxes {
      sandbox.kill(reason: reason, discardOutput: true)
    }
  }
}
