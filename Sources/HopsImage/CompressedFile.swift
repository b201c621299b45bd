import CArchive
import Glibc
import HopsOS

/// Reads a file that may be gzip-compressed (zlib decides from the magic bytes and
/// passes plain files through), so `.tar` and `.tar.gz` take the same path.
public final class CompressedFile {
  private var handle: UnsafeMutableRawPointer?
  public let path: String

  public init(path: String) throws(SyscallError) {
    self.path = path
    guard let handle = hops_gz_open(path) else {
      throw SyscallError("open", errno: errno == 0 ? 2 : errno, detail: path)
    }
    self.handle = handle
  }

  deinit { if let handle { hops_gz_close(handle) } }

  /// Fills `buffer` as far as the file allows; returns the count, 0 at the end.
  public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SyscallError) -> Int {
    var filled = 0
    while filled < buffer.count {
      var message: UnsafePointer<CChar>? = nil
      let n = hops_gz_read(handle, buffer.baseAddress! + filled, UInt32(buffer.count - filled), &message)
      if n < 0 {
        let text = message.map { String(cString: $0) } ?? "read error"
        throw SyscallError("gzread", errno: 5, detail: "\(path): \(text)")
      }
      if n == 0 { break }
      filled += Int(n)
    }
    return filled
  }
}
