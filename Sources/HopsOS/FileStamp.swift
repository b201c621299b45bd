import Glibc

/// A file's identity and last change (device, inode, size, mtime): whether
/// what was read from it earlier still holds. A file replaced by a rename is
/// another inode; one rewritten in place has another mtime.
public struct FileStamp: Equatable, Sendable {
  let device: UInt64
  let inode: UInt64
  let size: Int64
  let seconds: Int
  let nanoseconds: Int

  /// The file's stamp, following symlinks; nil when it cannot be seen.
  public init?(path: String) {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    device = UInt64(info.st_dev)
    inode = UInt64(info.st_ino)
    size = Int64(info.st_size)
    seconds = info.st_mtim.tv_sec
    nanoseconds = info.st_mtim.tv_nsec
  }
}
