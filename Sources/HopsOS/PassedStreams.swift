import Glibc

/// Which descriptors a client may hand a sandbox as its command's stdin,
/// stdout or stderr (a direct run). The command gets them as they are, so
/// each kind must give it nothing beyond reading and writing bytes:
///
/// - pipes, regular files, character devices that are not terminals, and
///   connected stream sockets are taken;
/// - any other socket is not: one belongs to the host's network namespace,
///   and unconnected it would let the command reach the host's network (or
///   its abstract Unix sockets) whatever the sandbox's network mode;
/// - a terminal is not: TIOCSTI would let the command type into the user's
///   shell (terminals go through a pseudo-terminal of the sandbox's own);
/// - a directory is not: fchdir or openat("..") on it leads out of the
///   sandbox's root; nor are block devices, O_PATH descriptors or anything else.
public enum PassedStreams {
  /// nil when `fd` may be passed; else why not.
  public static func refusal(_ fd: Int32) -> String? {
    var info = stat()
    guard fstat(fd, &info) == 0 else { return "it is not open" }
    let flags = fcntl(fd, F_GETFL)
    if flags < 0 || flags & Int32(O_PATH_FLAG) != 0 { return "it is an O_PATH descriptor" }
    switch info.st_mode & S_IFMT {
    case S_IFIFO, S_IFREG:
      return nil
    case S_IFSOCK:
      return socketRefusal(fd)
    case S_IFCHR:
      return isatty(fd) == 1 ? "it is a terminal" : nil
    case S_IFDIR:
      return "it is a directory"
    default:
      return "it is neither a pipe, a socket, a file nor a character device"
    }
  }

  /// A socket passes only as a byte stream to one peer: a stream socket,
  /// connected, not listening.
  static func socketRefusal(_ fd: Int32) -> String? {
    func option(_ name: Int32) -> Int32? {
      var value: Int32 = 0
      var length = socklen_t(MemoryLayout<Int32>.size)
      return getsockopt(fd, SOL_SOCKET, name, &value, &length) == 0 ? value : nil
    }
    guard option(SO_TYPE) == Int32(SOCK_STREAM.rawValue) else { return "it is a socket that is not a stream" }
    guard option(SO_ACCEPTCONN) == 0 else { return "it is a listening socket" }
    var address = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let connected = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) == 0 }
    }
    return connected ? nil : "it is a socket that is not connected"
  }
}
