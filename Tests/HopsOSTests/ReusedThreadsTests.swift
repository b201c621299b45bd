import Glibc
import Synchronization
import Testing

@testable import HopsOS

@Suite struct ReusedThreadsTests {
  /// The thread ids that ran each piece of work, and a gate they wait on.
  final class Record: Sendable {
    let ids = Mutex<[Int32]>([])
    let started = CountingSemaphore(value: 0)
    let gate = CountingSemaphore(value: 0)
    let done = CountingSemaphore(value: 0)
    func work() {
      let id = ReusedThreadsTests.threadID()
      ids.withLock { $0.append(id) }
      started.signal()
      gate.wait()
      done.signal()
    }
  }

  /// The kernel's id of the calling thread (/proc/thread-self is PID/task/TID).
  static func threadID() -> Int32 {
    var buffer = [CChar](repeating: 0, count: 64)
    let n = readlink("/proc/thread-self", &buffer, 63)
    let text = String(decoding: buffer.prefix(max(0, n)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return Int32(text.split(separator: "/").last ?? "") ?? -1
  }

  @Test func busyThreadsAreAddedAndIdleOnesReused() {
    let threads = ReusedThreads(name: "test-reused", keepIdle: 2)
    let record = Record()
    // Three at once: three threads.
    for _ in 0..<3 { #expect(threads.run { record.work() }) }
    // All at work before any is let go: none can take another's.
    for _ in 0..<3 { record.started.wait() }
    for _ in 0..<3 { record.gate.signal() }
    for _ in 0..<3 { record.done.wait() }
    let first = record.ids.withLock { $0 }
    #expect(Set(first).count == 3)
    // Two of them stay; the next two pieces of work run on those.
    usleep(50_000)
    for _ in 0..<2 { #expect(threads.run { record.work() }) }
    for _ in 0..<2 { record.started.wait() }
    for _ in 0..<2 { record.gate.signal() }
    for _ in 0..<2 { record.done.wait() }
    let next = record.ids.withLock { Array($0.suffix(2)) }
    #expect(Set(next).isSubset(of: Set(first)))
    #expect(Set(next).count == 2)
  }
}
