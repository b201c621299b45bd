import CHops
import Glibc

/// The listening side of a Unix stream socket.
public enum UnixSocket {
  /// Binds `fd` to `path` (which must not exist).
  public static func bind(_ fd: Int32, path: String) throws(SyscallError) {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
      throw SyscallError("bind", errno: ENAMETOOLONG, detail: path)
    }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
      for (i, byte) in bytes.enumerated() { raw[i] = byte }
    }
    let result = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    if result != 0 { throw SyscallError("bind", errno: errno, detail: path) }
  }

  /// The next connection, close-on-exec (it must never leak into a process
  /// the daemon starts); -1 with errno set when there is none.
  public static func accept(_ listener: Int32) -> Int32 {
    hops_accept_cloexec(listener)
  }
}
