import CHops
import Glibc
import Synchronization

/// One end of a control socket between the daemon and hops-init: frames in the
/// FramedMessages format, some of them carrying descriptors (SCM_RIGHTS).
///
/// Bytes are always read with recvmsg, so a passed descriptor is never dropped
/// by a plain read; descriptors queue up in arrival order and the frame that
/// announces them takes them off the queue. The kernel delivers a descriptor
/// with the first byte of the message it was sent with, so by the time a frame
/// is complete its descriptors are queued.
public final class ControlChannel: @unchecked Sendable {
  public let fd: Int32
  /// Only the reading thread touches these.
  private var buffer: [UInt8] = []
  private var descriptors: [Int32] = []
  /// Senders may be many threads: a frame must go out whole.
  private let sending = Mutex(())

  public init(fd: Int32) { self.fd = fd }

  /// Sends one frame, with descriptors if any (they travel with its first byte).
  public func send(_ payload: [UInt8], descriptors passed: [Int32] = []) throws(SyscallError) {
    let length = UInt32(payload.count)
    let bytes = withUnsafeBytes(of: length.littleEndian) { Array($0) } + payload
    let result: Result<Void, SyscallError> = sending.withLock { _ in
      do throws(SyscallError) {
        let sent = bytes.withUnsafeBytes { raw in
          passed.withUnsafeBufferPointer { hops_send_with_fds(fd, raw.baseAddress, Int32(raw.count), $0.baseAddress, Int32($0.count)) }
        }
        if sent < 0 { throw SyscallError("sendmsg", errno: -sent) }
        if Int(sent) < bytes.count { try FD.writeAll(fd, Array(bytes[Int(sent)...])) }
        return .success(())
      } catch {
        return .failure(error)
      }
    }
    try result.get()
  }

  /// One recvmsg: appends what arrived. False at end of stream.
  public func fill() throws(SyscallError) -> Bool {
    var fds = [Int32](repeating: -1, count: Int(HOPS_MAX_PASSED_FDS))
    var count: Int32 = 0
    var n = 0
    // Left uninitialized: zeroing 64 KiB would fault in 16 pages for the few
    // hundred bytes a message holds, in every new hops-init.
    let chunk = [UInt8](unsafeUninitializedCapacity: 65536) { raw, initialized in
      n = Int(fds.withUnsafeMutableBufferPointer { hops_receive_with_fds(fd, raw.baseAddress, Int32(raw.count), $0.baseAddress, &count) })
      initialized = max(n, 0)
    }
    if n < 0 { throw SyscallError("recvmsg", errno: Int32(-n)) }
    descriptors += fds.prefix(Int(count))
    if n == 0 { return false }
    buffer += chunk  // a copy of just what came: the chunk's 64 KiB are not kept
    return true
  }

  /// The next complete frame already received, if any. A length beyond
  /// FramedMessages.maxFrame means a confused peer: an error, not an allocation.
  public func nextFrame() throws(SyscallError) -> [UInt8]? {
    if buffer.count >= 4 && FramedMessages.length(ofHeader: buffer) > FramedMessages.maxFrame {
      throw SyscallError("recvmsg", errno: EMSGSIZE)
    }
    return FramedMessages.take(from: &buffer)
  }

  /// Blocks until a whole frame is here; nil at end of stream.
  public func receive() throws(SyscallError) -> [UInt8]? {
    while true {
      if let frame = try nextFrame() { return frame }
      guard try fill() else { return nil }
    }
  }

  /// How many passed descriptors wait to be taken.
  public var queuedDescriptors: Int { descriptors.count }

  /// The next `count` passed descriptors, or nil (and none taken) if fewer came.
  public func takeDescriptors(_ count: Int) -> [Int32]? {
    guard descriptors.count >= count else { return nil }
    let taken = Array(descriptors.prefix(count))
    descriptors.removeFirst(count)
    return taken
  }

  /// Closes the socket and any descriptor nobody took.
  public func close() {
    descriptors.forEach(FD.close)
    descriptors = []
    FD.close(fd)
  }
}
