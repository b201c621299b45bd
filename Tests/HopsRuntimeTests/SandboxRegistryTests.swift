import HopsCore
import Testing

@testable import HopsRuntime

/// Names and references over stopped sandboxes (running ones need real sandboxes:
/// the integration tests have those).
@Suite struct SandboxRegistryTests {
  func record(_ id: String, name: String?, exit: Int32 = 0) -> SandboxRecord {
    var record = SandboxRecord(id: id, createdAt: 0, rootfs: "default", command: ["true"], keep: false, initPid: 0, exitCode: exit)
    record.name = name
    record.kind = .detached
    return record
  }

  @Test func referencesResolveByIdNameAndUniquePrefix() throws {
    let registry = SandboxRegistry(stopped: [record("abc123000000", name: "web"), record("abd456000000", name: nil)])
    #expect(try registry.resolve("abc123000000").record?.id == "abc123000000")
    #expect(try registry.resolve("web").record?.id == "abc123000000")
    #expect(try registry.resolve("abd").record?.id == "abd456000000")
    #expect(throws: HopsError.self) { try registry.resolve("ab") }  // two ids start so
    #expect(throws: HopsError.self) { try registry.resolve("zzz") }
    #expect(throws: HopsError.self) { try registry.resolve("") }
    do {
      _ = try registry.resolve("ab")
    } catch let error as HopsError {
      #expect(error.message.contains("abc123000000, abd456000000"))
    }
  }

  @Test func namesAreUniqueUntilTheirSandboxIsForgotten() throws {
    let registry = SandboxRegistry(stopped: [record("abc123000000", name: "web")])
    #expect(throws: HopsError.self) { try registry.reserve(id: "fff000000000", name: "web") }
    try registry.reserve(id: "fff000000000", name: "api")
    // A name being launched is taken too, and is not yet a sandbox to find.
    #expect(throws: HopsError.self) { try registry.reserve(id: "eee000000000", name: "api") }
    #expect(throws: HopsError.self) { try registry.resolve("api") }
    registry.release(id: "fff000000000")
    try registry.reserve(id: "eee000000000", name: "api")
    registry.forget(id: "abc123000000")
    try registry.reserve(id: "ddd000000000", name: "web")
  }

  @Test func killAllRefusesNewSandboxes() throws {
    let registry = SandboxRegistry()
    registry.killAll(reason: "stopping")
    #expect(throws: HopsError.self) { try registry.reserve(id: "abc123000000", name: nil) }
  }
}
