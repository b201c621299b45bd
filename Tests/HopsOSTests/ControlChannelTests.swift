import Glibc
import Testing

@testable import HopsOS

/// Frames and passed descriptors over a real socket pair.
@Suite struct ControlChannelTests {
  @Test func framesArriveWholeAndDescriptorsWithTheirFrame() throws {
    let (a, b) = try FD.socketPair()
    let sender = ControlChannel(fd: a)
    let receiver = ControlChannel(fd: b)
    defer {
      sender.close()
      receiver.close()
    }
    let pipe = try FD.pipe()
    defer { FD.close(pipe.read) }
    try sender.send(Array("first".utf8))
    try sender.send(Array("with-fds".utf8), descriptors: [pipe.write, pipe.write])
    FD.close(pipe.write)
    try sender.send([])

    #expect(try receiver.receive() == Array("first".utf8))
    #expect(try receiver.receive() == Array("with-fds".utf8))
    let passed = try #require(receiver.takeDescriptors(2))
    #expect(receiver.takeDescriptors(1) == nil)
    // A passed descriptor is the same pipe: what goes in comes out of ours.
    try FD.writeAll(passed[0], Array("through".utf8))
    passed.forEach(FD.close)
    #expect(try FD.read(pipe.read, max: 100) == Array("through".utf8))
    #expect(try FD.read(pipe.read, max: 100) == [], "every write end is closed")
    #expect(try receiver.receive() == [])
  }

  @Test func aFrameLongerThanTheLimitIsAnError() throws {
    let (a, b) = try FD.socketPair()
    defer {
      FD.close(a)
      FD.close(b)
    }
    let length = UInt32(FramedMessages.maxFrame + 1)
    try FD.writeAll(a, withUnsafeBytes(of: length.littleEndian) { Array($0) })
    let receiver = ControlChannel(fd: b)
    #expect(throws: SyscallError.self) { try receiver.receive() }
  }

  @Test func endOfStreamIsNil() throws {
    let (a, b) = try FD.socketPair()
    FD.close(a)
    let receiver = ControlChannel(fd: b)
    defer { receiver.close() }
    #expect(try receiver.receive() == nil)
  }
}
