import Glibc

/// Which descriptors a client may hand a sandbox as its command's stdin,
/// stdout or stderr (a direct run). The command gets them as they are, so
/// each kind must give it nothing beyond reading and writing bytes:
///
/// - pipes, sockets, regular files and character devices that are not
///   terminals are taken;
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
    case S_IFIFO, S_IFSOCK, S_IFREG:
      return nil
    case S_IFCHR:
      return isatty(fd) == 1 ? "it is a terminal" : nil
    case S_IFDIR:
      return "it is a directory"
    default:
      return "it is neither a pipe, a socket, a file nor a character device"
    }
  }
}
