import FoundationEssentials
import Glibc
import HopsCore
import HopsOS

/// `sandboxes/<id>/state.json`: what a sandbox is and how it ended. It is what
/// `ps -a`, `inspect` and `logs` read once the sandbox has stopped, what survives
/// a daemon restart, and what crash recovery finds.
public struct SandboxRecord: Codable, Sendable, Equatable {
  /// How the sandbox was started.
  public enum Kind: String, Codable, Sendable {
    /// `hops run`: attached to its client, removed after its exit unless kept.
    case run
    /// `hops run -d`: its output goes to the log; it stays until `hops rm`.
    case detached
    /// `hops create`: no command, just a sandbox to exec into.
    case created
  }

  public var id: String
  public var name: String?
  public var kind: Kind = .run
  public var createdAt: Double
  /// The rootfs or image it stands on.
  public var rootfs: String
  public var command: [String]
  public var keep: Bool
  /// Host pid of hops-init; 0 until it has been started.
  public var initPid: Int32

  // The policy, as it was applied.
  public var profile: String?
  public var workspace: String?
  public var workspaceMode: String?
  public var network: String?
  public var address: String?
  public var allowNet: [String]?
  public var publish: [String]?
  public var limits: Limits?
  public var hostname: String?
  public var workingDirectory: String?
  /// `NAME=VALUE`: the command's environment, which execs start from too.
  public var environment: [String]?
  /// The user the command runs as (an image's), nil for root.
  public var user: String?

  // How it ended; nil while it runs.
  public var exitCode: Int32?
  public var exitSignal: Int32?
  /// Why Hops ended it, when it did.
  public var exitMessage: String?
  public var finishedAt: Double?
  public var cpuSeconds: Double?
  public var peakMemoryBytes: UInt64?

  public struct Limits: Codable, Sendable, Equatable {
    public var cpus: Double?
    public var memoryBytes: UInt64?
    public var maxProcesses: Int?
    public var timeoutSeconds: Double?
    public var cpuset: String?
  }

  public init(id: String, createdAt: Double, rootfs: String, command: [String], keep: Bool, initPid: Int32, exitCode: Int32? = nil) {
    self.id = id
    self.createdAt = createdAt
    self.rootfs = rootfs
    self.command = command
    self.keep = keep
    self.initPid = initPid
    self.exitCode = exitCode
  }

  public var isRunning: Bool { exitCode == nil }

  /// An attached run leaves nothing behind unless kept (as `docker run --rm`).
  public var removedOnExit: Bool { kind == .run && !keep }

  /// "running", or "exited (N)".
  public var state: String { exitCode.map { "exited (\($0))" } ?? "running" }

  public static func load(from directory: String) -> SandboxRecord? {
    guard let data = FileManager.default.contents(atPath: directory + "/state.json") else { return nil }
    return try? JSONDecoder().decode(SandboxRecord.self, from: data)
  }

  /// Written to a temporary file and renamed, so a crash never leaves half a record.
  public func save(to directory: String) throws {
    let data = Array(json.utf8)
    let temporary = directory + "/.state.json.tmp"
    // Plain open and write: Foundation's Data.write costs about a millisecond
    // more, on every launch.
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw HopsError.failed("cannot save \(temporary): \(errnoString(errno))") }
    defer { close(fd) }
    do { try FD.writeAll(fd, data) } catch { throw HopsError.failed("cannot save \(temporary): \(error)") }
    guard rename(temporary, directory + "/state.json") == 0 else {
      throw HopsError.failed("cannot save \(directory)/state.json: \(errnoString(errno))")
    }
  }
}
