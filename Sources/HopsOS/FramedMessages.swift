import Glibc

/// Length-prefixed messages over a stream socket: a 4-byte little-endian length,
/// then the payload. The daemon and hops-init talk this way over their control
/// socket (launch plan one way, status reports the other).
public enum FramedMessages {
  /// Refuse frames larger than this: the plan and status reports are small, and a
  /// length read from a confused peer must not make us allocate gigabytes.
  public static let maxFrame = 4 << 20

  public static func send(_ fd: Int32, _ payload: [UInt8]) throws(SyscallError) {
    let length = UInt32(payload.count)
    var frame = withUnsafeBytes(of: length.littleEndian) { Array($0) }
    frame += payload
    try FD.writeAll(fd, frame)
  }

  /// The next frame, or nil at a clean end of stream.
  public static func receive(_ fd: Int32) throws(SyscallError) -> [UInt8]? {
    guard let header = try FD.readExactly(fd, 4) else { return nil }
    let length = Int(UInt32(header[0]) | UInt32(header[1]) << 8 | UInt32(header[2]) << 16 | UInt32(header[3]) << 24)
    guard length <= maxFrame else { throw SyscallError("receive", errno: EMSGSIZE) }
    if length == 0 { return [] }
    return try FD.readExactly(fd, length)
  }
}
