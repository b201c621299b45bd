import CArchive
import Glibc
import HopsOS

/// SHA-256 (OpenSSL), for content addresses: `sha256:<hex>`.
public final class SHA256Hasher {
  private var context: UnsafeMutableRawPointer?

  public init() { context = hops_sha256_new() }

  deinit { if let context { var sink = [UInt8](repeating: 0, count: 32); hops_sha256_finish(context, &sink) } }

  public func update(_ bytes: UnsafeRawBufferPointer) {
    guard let base = bytes.baseAddress else { return }
    hops_sha256_update(context, base, UInt(bytes.count))
  }

  public func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

  /// The digest as lowercase hex; the hasher cannot be used afterwards.
  public func finish() -> String {
    var digest = [UInt8](repeating: 0, count: 32)
    hops_sha256_finish(context, &digest)
    context = nil
    return digest.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
  }

  /// The hex SHA-256 of a file's bytes.
  public static func file(_ path: String) throws(SyscallError) -> String {
    let fd = try syscall("open", path) { open(path, O_RDONLY | O_CLOEXEC) }
    defer { FD.close(fd) }
    let hasher = SHA256Hasher()
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    while true {
      let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n < 0 {
        if errno == EINTR { continue }
        throw SyscallError("read", errno: errno, detail: path)
      }
      if n == 0 { break }
      buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
    }
    return hasher.finish()
  }

  /// The hex SHA-256 of a file's contents after gzip decompression (a layer's
  /// diff ID); plain files hash as they are.
  public static func uncompressed(_ path: String) throws -> String {
    let file = try CompressedFile(path: path)
    let hasher = SHA256Hasher()
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    while true {
      let n = try buffer.withUnsafeMutableBytes { try file.read(into: $0) }
      if n == 0 { break }
      buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
    }
    return hasher.finish()
  }
}
