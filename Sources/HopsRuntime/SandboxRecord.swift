import FoundationEssentials
import HopsCore

/// `sandboxes/<id>/state.json`: enough for a restarted daemon to find and clean
/// what a crashed one left, and for a kept sandbox to say what it was.
public struct SandboxRecord: Codable, Sendable, Equatable {
  public var id: String
  public var createdAt: Double
  public var rootfs: String
  public var command: [String]
  public var keep: Bool
  /// Host pid of hops-init; 0 until it has been started.
  public var initPid: Int32
  /// Set when the run has ended.
  public var exitCode: Int32?

  public static func load(from directory: String) -> SandboxRecord? {
    guard let data = FileManager.default.contents(atPath: directory + "/state.json") else { return nil }
    return try? JSONDecoder().decode(SandboxRecord.self, from: data)
  }

  /// Written to a temporary file and renamed, so a crash never leaves half a record.
  public func save(to directory: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    let data = try encoder.encode(self)
    let temporary = directory + "/.state.json.tmp"
    do {
      try data.write(to: URL(fileURLWithPath: temporary))
      try FileManager.default.moveItem(atPath: temporary, toPath: directory + "/state.json")
    } catch {
      // moveItem refuses to replace; fall back to a direct write.
      try data.write(to: URL(fileURLWithPath: directory + "/state.json"))
      try? FileManager.default.removeItem(atPath: temporary)
    }
  }
}
