import FoundationEssentials
import Glibc
import Testing

@testable import HopsRuntime

/// The detached sandbox's log: records in order, streams apart, bounded by
/// rotation, and read across a rotation.
@Suite struct SandboxLogTests {
  let directory: String

  init() throws {
    var template = Array("/tmp/hops-log-test-XXXXXX".utf8CString)
    directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
  }

  func cleanup() { try? FileManager.default.removeItem(atPath: directory) }

  func size(_ name: String) -> Int {
    var info = stat()
    return stat(directory + "/" + name, &info) == 0 ? Int(info.st_size) : 0
  }

  @Test func recordsKeepOrderAndStreams() throws {
    defer { cleanup() }
    let log = try SandboxLog(directory: directory)
    log.append(stream: 1, Array("out\n".utf8))
    log.append(stream: 2, Array("err\n".utf8))
    log.append(stream: 1, Array("more\n".utf8))
    let reader = try #require(SandboxLogReader(directory: directory))
    let chunks = reader.read()
    #expect(chunks.map(\.stream) == [1, 2, 1])
    #expect(chunks.map { String(decoding: $0.bytes, as: UTF8.self) } == ["out\n", "err\n", "more\n"])
    #expect(reader.read().isEmpty)
  }

  @Test func theLogIsBoundedAndKeepsTheLatest() throws {
    defer { cleanup() }
    let log = try SandboxLog(directory: directory, maxBytes: 1000)
    for i in 0..<500 { log.append(stream: 1, Array("line \(i)\n".utf8)) }
    #expect(size(SandboxLog.fileName) <= 1000 && size(SandboxLog.fileName + ".1") <= 1000)
    let reader = try #require(SandboxLogReader(directory: directory))
    let text = reader.read().map { String(decoding: $0.bytes, as: UTF8.self) }.joined()
    #expect(text.hasSuffix("line 498\nline 499\n"))
    #expect(!text.contains("line 0\n"))
    // What is kept is contiguous: no line missing between the first kept and the last.
    let numbers = text.split(separator: "\n").map { Int($0.dropFirst(5))! }
    #expect(numbers == Array(numbers.first!...499))
  }

  @Test func aFollowingReaderGoesOnAcrossARotation() throws {
    defer { cleanup() }
    let log = try SandboxLog(directory: directory, maxBytes: 200)
    log.append(stream: 1, Array("first\n".utf8))
    let reader = try #require(SandboxLogReader(directory: directory))
    #expect(reader.read().count == 1)
    for i in 0..<10 { log.append(stream: 1, Array("after \(i)\n".utf8)) }
    let rest = reader.read().map { String(decoding: $0.bytes, as: UTF8.self) }
    #expect(rest.last == "after 9\n")
    #expect(rest.count >= 5)
  }

  @Test func noLogMeansNoReader() {
    defer { cleanup() }
    #expect(SandboxLogReader(directory: directory) == nil)
  }
}
