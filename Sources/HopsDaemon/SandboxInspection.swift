import FoundationEssentials
import HopsCore
import HopsRuntime

/// `hops inspect`: a sandbox's record (its policy, limits, command, exit) with
/// its live state, as one JSON document.
struct SandboxInspection: Encodable {
  struct Live: Encodable {
    var pid: Int32
    var wallSeconds: Double
    var cpuSeconds: Double
    var memoryBytes: UInt64
    var peakMemoryBytes: UInt64
    var processes: Int
  }

  var id: String
  var name: String?
  var state: String
  var running: Bool
  /// Its directory on the host; none for a run thrown away at its exit
  /// (its layers are in memory, its record in the daemon).
  var directory: String?
  /// The detached sandbox's log, if it has one.
  var log: String?
  var live: Live?
  var record: SandboxRecord

  init(entry: SandboxRegistry.Entry, home: HopsHome) {
    record = entry.record!
    id = record.id
    name = record.name
    state = record.state
    running = record.isRunning
    let path = home.sandbox(id: record.id)
    directory = record.removedOnExit ? nil : path
    log = record.kind == .detached ? path + "/" + SandboxLog.fileName : nil
    if case .running(let sandbox) = entry {
      directory = sandbox.directory
      let usage = sandbox.currentUsage()
      live = Live(
        pid: sandbox.initPid, wallSeconds: usage.wallSeconds, cpuSeconds: usage.cpuSeconds, memoryBytes: usage.memoryBytes,
        peakMemoryBytes: usage.peakMemoryBytes, processes: usage.processes)
    }
  }

  func json() -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
  }
}
