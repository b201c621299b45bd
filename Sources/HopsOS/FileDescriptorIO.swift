import CHops
import Glibc

/// Small helpers over raw descriptors. Kept to what Hops needs: whole writes, reads
/// into a fresh array, closing that ignores EINTR (on Linux the fd is gone anyway).
public enum FD {
  public static func close(_ fd: Int32) {
    if fd >= 0 { _ = Glibc.close(fd) }
  }

  /// Writes all of `bytes`, retrying short writes. Throws on EPIPE and other errors.
  public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(SyscallError) {
    var offset = 0
    while offset < bytes.count {
      let n = try syscall("write") { Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset) }
      offset += n
    }
  }

  public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(SyscallError) {
    var offset = 0
    while offset < bytes.count {
      let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
      if n < 0 {
        if errno == EINTR { continue }
        throw SyscallError("write", errno: errno)
      }
      offset += n
    }
  }

  /// One read of up to `max` bytes; an empty array means end of file.
  public static func read(_ fd: Int32, max: Int) throws(SyscallError) -> [UInt8] {
    var buffer = [UInt8](repeating: 0, count: max)
    while true {
      let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, max) }
      if n >= 0 {
        buffer.removeSubrange(n...)
        return buffer
      }
      if errno != EINTR { throw SyscallError("read", errno: errno) }
    }
  }

  /// A pipe whose both ends are close-on-exec.
  public static func pipe() throws(SyscallError) -> (read: Int32, write: Int32) {
    var fds: [Int32] = [-1, -1]
    try syscall("pipe2") { hops_pipe_cloexec(&fds) }
    return (fds[0], fds[1])
  }

  /// Two close-on-exec descriptors of /dev/null, shaped like `pipe()`'s result,
  /// for a process that gets no stream.
  public static func openNull() throws(SyscallError) -> (read: Int32, write: Int32) {
    let read = try syscall("open", "/dev/null") { open("/dev/null", O_RDONLY | O_CLOEXEC) }
    do {
      let write = try syscall("open", "/dev/null") { open("/dev/null", O_WRONLY | O_CLOEXEC) }
      return (read, write)
    } catch {
      close(read)
      throw error
    }
  }

  /// A connected pair of close-on-exec stream sockets.
  public static func socketPair() throws(SyscallError) -> (Int32, Int32) {
    var fds: [Int32] = [-1, -1]
    try syscall("socketpair") {
      socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds)
    }
    return (fds[0], fds[1])
  }

  /// Asks for a bigger pipe buffer (F_SETPIPE_SZ): fewer wake-ups per byte
  /// when a sandbox streams. Best effort: the kernel caps it (pipe-max-size).
  public static func growPipe(_ fd: Int32, to bytes: Int32 = 1 << 20) {
    _ = fcntl(fd, 1031 /* F_SETPIPE_SZ */, bytes)
  }

  public static func setNonBlocking(_ fd: Int32) throws(SyscallError) {
    let flags = try syscall("fcntl") { fcntl(fd, F_GETFL) }
    try syscall("fcntl") { fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
  }
}
