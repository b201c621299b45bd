import Glibc

/// Length-prefixed messages over a stream socket: a 4-byte little-endian length,
/// then the payload. The daemon and hops-init talk this way over their control
/// socket (ControlChannel sends and receives; this is the format).
public enum FramedMessages {
  /// Refuse frames larger than this: the plan and status reports are small, and a
  /// length read from a confused peer must not make us allocate gigabytes.
  public static let maxFrame = 4 << 20

  /// The payload length a frame's 4-byte header announces.
  public static func length<C: Collection>(ofHeader header: C) -> Int where C.Element == UInt8, C.Index == Int {
    let b = Array(header.prefix(4))
    return Int(UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24)
  }

  /// Takes one complete frame off the front of `buffer`, if it holds one.
  public static func take(from buffer: inout [UInt8]) -> [UInt8]? {
    guard buffer.count >= 4 else { return nil }
    let length = length(ofHeader: buffer)
    guard buffer.count >= 4 + length else { return nil }
    let frame = Array(buffer[4..<(4 + length)])
    buffer.removeFirst(4 + length)
    return frame
  }
}
