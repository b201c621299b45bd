import Glibc
import HopsOS
import Synchronization

/// The output of a detached sandbox, on disk in `<sandbox>/output.log`.
///
/// Records keep stdout and stderr apart and in order: one byte for the stream
/// (1 or 2), a 4-byte little-endian length, the bytes. The log is bounded: when
/// it would pass `maxBytes`, it becomes `output.log.1` (replacing the previous
/// one) and a new file starts, so a sandbox never holds more than twice
/// `maxBytes` of output and the latest output is always there.
public final class SandboxLog: @unchecked Sendable {
  public static let fileName = "output.log"
  public static let defaultMaxBytes = 8 << 20

  public let path: String
  let maxBytes: Int
  /// Only the sandbox's output thread writes.
  private var fd: Int32
  private var size: Int

  public init(directory: String, maxBytes: Int = SandboxLog.defaultMaxBytes) throws(SyscallError) {
    let path = directory + "/" + Self.fileName
    self.path = path
    self.maxBytes = maxBytes
    fd = try syscall("open", path) { open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600) }
    var info = stat()
    size = fstat(fd, &info) == 0 ? Int(info.st_size) : 0
  }

  deinit { FD.close(fd) }

  /// Appends one chunk. A full disk loses output, never the sandbox.
  public func append(stream: UInt8, _ bytes: [UInt8]) {
    var offset = 0
    while offset < bytes.count {
      // A chunk larger than the whole log keeps its end.
      let piece = Array(bytes[offset..<min(bytes.count, offset + maxBytes / 2)])
      offset += piece.count
      if size > 0 && size + piece.count + 5 > maxBytes { rotate() }
      let length = UInt32(piece.count)
      let record = [stream] + withUnsafeBytes(of: length.littleEndian) { Array($0) } + piece
      if (try? FD.writeAll(fd, record)) != nil { size += record.count }
    }
  }

  private func rotate() {
    rename(path, path + ".1")
    let next = open(path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC, 0o600)
    guard next >= 0 else { return }
    FD.close(fd)
    fd = next
    size = 0
  }
}

/// Reads a sandbox's log from the start, and on from there as it grows
/// (`hops logs -f`), across rotations: it holds the files open, so one rotated
/// away while being read is still read to its end.
public final class SandboxLogReader: @unchecked Sendable {
  public struct Chunk: Sendable {
    /// 1 stdout, 2 stderr.
    public var stream: UInt8
    public var bytes: [UInt8]
  }

  private let path: String
  private var queue: [Int32] = []
  private var current: Int32 = -1
  private var pending: [UInt8] = []

  /// nil when the sandbox has no log (it was not detached).
  public init?(directory: String) {
    path = directory + "/" + SandboxLog.fileName
    let older = open(path + ".1", O_RDONLY | O_CLOEXEC)
    let newer = open(path, O_RDONLY | O_CLOEXEC)
    guard newer >= 0 || older >= 0 else { return nil }
    queue = [older, newer].filter { $0 >= 0 }
    current = queue.removeFirst()
  }

  deinit {
    FD.close(current)
    queue.forEach(FD.close)
  }

  /// The complete records available now, up to about `limit` bytes; [] when
  /// there is nothing new (yet).
  public func read(limit: Int = 1 << 20) -> [Chunk] {
    var chunks: [Chunk] = []
    var total = 0
    while total < limit {
      if let chunk = takeRecord() {
        total += chunk.bytes.count
        chunks.append(chunk)
        continue
      }
      let data = (try? FD.read(current, max: 65536)) ?? []
      if !data.isEmpty {
        pending += data
        continue
      }
      // The end of this file: on to the next one, or, when the log was rotated
      // since we opened it, to the file that now has its name.
      if !queue.isEmpty {
        FD.close(current)
        current = queue.removeFirst()
        pending = []
      } else if let replaced = reopenIfRotated() {
        FD.close(current)
        current = replaced
        pending = []
      } else {
        break
      }
    }
    return chunks
  }

  private func takeRecord() -> Chunk? {
    guard pending.count >= 5 else { return nil }
    let length = FramedMessages.length(ofHeader: Array(pending[1..<5]))
    guard pending.count >= 5 + length else { return nil }
    let chunk = Chunk(stream: pending[0], bytes: Array(pending[5..<(5 + length)]))
    pending.removeFirst(5 + length)
    return chunk
  }

  private func reopenIfRotated() -> Int32? {
    var now = stat()
    var held = stat()
    guard stat(path, &now) == 0, fstat(current, &held) == 0, now.st_ino != held.st_ino else { return nil }
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    return fd >= 0 ? fd : nil
  }
}
