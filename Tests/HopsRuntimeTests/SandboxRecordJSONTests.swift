import Foundation
import Testing

@testable import HopsRuntime

/// The hand-written record (SandboxRecordJSON) must read back through
/// JSONDecoder, as `hops ps` and crash recovery read it, field for field.
@Suite struct SandboxRecordJSONTests {
  func decoded(_ record: SandboxRecord) throws -> SandboxRecord {
    try JSONDecoder().decode(SandboxRecord.self, from: Data(record.json.utf8))
  }

  @Test func aRunningRecordWithOnlyWhatIsRequiredReadsBack() throws {
    let record = SandboxRecord(id: "0123456789ab", createdAt: 1_764_484_800.25, rootfs: "default", command: [], keep: false, initPid: 42)
    #expect(try decoded(record) == record)
  }

  @Test func everyFieldReadsBackAndTextIsEscaped() throws {
    var record = SandboxRecord(
      id: "abcdef012345", createdAt: 1_764_484_800.123456, rootfs: "docker.io/library/alpine:3.20",
      command: ["sh", "-c", "echo \"quoted\" \\ tab\there\nnew line \u{1}"], keep: true, initPid: 7, exitCode: -1)
    record.name = "wéb ☃"
    record.kind = .detached
    record.profile = "default"
    record.workspace = "/home/me/project"
    record.workspaceMode = "rw"
    record.network = "outbound"
    record.address = "10.88.0.2"
    record.allowNet = ["10.0.0.0/8", "192.168.1.1"]
    record.publish = ["8080:80"]
    record.limits = SandboxRecord.Limits(cpus: 1.5, memoryBytes: 536_870_912, maxProcesses: 100, timeoutSeconds: 0.1, cpuset: "0-1")
    record.hostname = "box"
    record.workingDirectory = "/workspace"
    record.environment = ["A=1", "EMPTY="]
    record.user = "1000:1000"
    record.exitSignal = 9
    record.exitMessage = "killed: out of memory"
    record.finishedAt = 1_764_484_801
    record.cpuSeconds = 0.000123
    record.peakMemoryBytes = UInt64.max
    #expect(try decoded(record) == record)
    // The same reading as what JSONEncoder writes.
    let encoded = try JSONDecoder().decode(SandboxRecord.self, from: JSONEncoder().encode(record))
    #expect(encoded == record)
  }

  @Test func emptyLimitsAndEmptyListsStayPresent() throws {
    var record = SandboxRecord(id: "a", createdAt: 0, rootfs: "r", command: ["true"], keep: false, initPid: 1)
    record.limits = SandboxRecord.Limits()
    record.allowNet = []
    #expect(try decoded(record) == record)
  }
}
