import CHops
import Glibc

/// Unix stream sockets by path: the daemon's listening side, the CLI's
/// connecting side.
public enum UnixSocket {
  /// Binds `fd` to `path` (which must not exist).
  public static func bind(_ fd: Int32, path: String) throws(SyscallError) {
    let result = withAddress(path) { Glibc.bind(fd, $0, $1) }
    if result != 0 { throw SyscallError("bind", errno: result == -2 ? ENAMETOOLONG : errno, detail: path) }
  }

  /// A new close-on-exec socket connected to `path`, or nil when nothing
  /// accepts connections there.
  public static func connect(_ path: String) -> Int32? {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return nil }
    guard withAddress(path, { Glibc.connect(fd, $0, $1) }) == 0 else {
      close(fd)
      return nil
    }
    return fd
  }

  /// Calls `body` with `path` as a sockaddr_un; -2 when the path is too long.
  private static func withAddress(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return -2 }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
      for (i, byte) in bytes.enumerated() { raw[i] = byte }
    }
    return withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
  }

  /// The next connection, close-on-exec (it must never leak into a process
  /// the daemon starts); -1 with errno set when there is none.
  public static func accept(_ listener: Int32) -> Int32 {
    hops_accept_cloexec(listener)
  }
}
