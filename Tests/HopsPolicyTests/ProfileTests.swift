import FoundationEssentials
import Glibc
import HopsCore
import Testing

@testable import HopsPolicy

/// The parser and validator over a fixture directory: every file in valid/ must
/// load; every file in invalid/ must fail with each problem its `# expect:` lines name.
@Suite struct ProfileTests {
  static let fixtures: String = {
    let file = #filePath
    return String(file[..<file.lastIndex(of: "/")!]) + "/Fixtures"
  }()
  static let host = HostFacts(cpus: 2, memoryBytes: 24 << 30)

  static func files(_ kind: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: fixtures + "/" + kind)) ?? []).filter { $0.hasSuffix(".toml") }.sorted()
  }

  static func parse(_ path: String) -> Result<Profile, ProfileErrors> {
    let text = String(decoding: FileManager.default.contents(atPath: path)!, as: UTF8.self)
    return ProfileParser.parse(text, file: path, defaultName: "fixture", origin: .file(path), host: host)
  }

  @Test func fixturesExist() {
    #expect(Self.files("valid").count >= 3)
    #expect(Self.files("invalid").count >= 10)
  }

  @Test(arguments: files("valid"))
  func validFixturesLoad(file: String) throws {
    if case .failure(let errors) = Self.parse(Self.fixtures + "/valid/" + file) {
      Issue.record("\(file) should be valid: \(errors)")
    }
  }

  @Test(arguments: files("invalid"))
  func invalidFixturesReportEveryProblem(file: String) throws {
    let path = Self.fixtures + "/invalid/" + file
    let text = String(decoding: FileManager.default.contents(atPath: path)!, as: UTF8.self)
    let expectations = text.split(separator: "\n").filter { $0.hasPrefix("# expect: ") }.map { String($0.dropFirst(10)) }
    #expect(!expectations.isEmpty, "\(file) names no expected problem")
    switch Self.parse(path) {
    case .success: Issue.record("\(file) should be invalid")
    case .failure(let errors):
      let report = errors.description
      for expected in expectations {
        #expect(report.contains(expected), "\(file): expected '\(expected)' in:\n\(report)")
      }
      // Every problem names its file.
      #expect(errors.problems.allSatisfy { $0.file == path })
    }
  }

  @Test func originalFormatMapsEveryKey() throws {
    let profile = try Self.parse(Self.fixtures + "/valid/original-build.toml").get()
    let policy = profile.policy
    #expect(profile.name == "build" && profile.version == "1.0.0")
    #expect(policy.rootfs == "alpine")
    #expect(policy.network == .outbound)
    #expect(policy.filesystem == .all)
    #expect(policy.allowedPaths == ["/tmp"] && policy.deniedPaths == ["/etc/shadow"])
    #expect(policy.limits == ResourceLimits(cpus: 2, memoryBytes: 536_870_912, maxProcesses: 100))
    #expect(policy.hostname == "build-sandbox" && policy.workingDirectory == "/workspace")
    #expect(policy.mounts == [MountSpec(kind: .tmpfs, source: "tmpfs", destination: "/tmp", readOnly: false, options: ["size=64m"])])
    #expect(policy.environment.first { $0.key == "PATH" }?.value == "/usr/local/bin:/usr/bin:/bin")
  }

  @Test func sizesAndFractions() throws {
    let policy = try Self.parse(Self.fixtures + "/valid/sizes-and-fractions.toml").get().policy
    #expect(policy.limits.cpus == 0.5)
    #expect(policy.limits.memoryBytes == 1_610_612_736)
    #expect(policy.workspaceMode == .overlay)
    #expect(policy.filesystem == [.read])
  }

  @Test(arguments: [("512M", UInt64(536_870_912)), ("2G", 2_147_483_648), ("1.5G", 1_610_612_736), ("268435456", 268_435_456), ("64k", 65536), ("512MiB", 536_870_912)])
  func byteSizes(text: String, bytes: UInt64) throws {
    #expect(try ByteSize.parse(text) == bytes)
  }

  @Test(arguments: ["", "M", "-1G", "12X", "1..5G", "lots"])
  func badByteSizes(text: String) {
    #expect(throws: HopsError.self) { try ByteSize.parse(text) }
  }

  @Test func everyBuiltinIsValidAndRoundTripsThroughTOML() throws {
    #expect(Set(BuiltinProfiles.sources.map(\.name)) == ["default", "minimal", "untrusted", "development", "build", "ci", "network-allowed"])
    for builtin in BuiltinProfiles.sources {
      let profile = try ProfileStore.parseBuiltin(builtin, host: Self.host)
      #expect(!profile.description.isEmpty)
      let written = ProfileWriter.toml(profile)
      let reread = try ProfileParser.parse(written, file: "rewritten", defaultName: "x", origin: .builtin, host: Self.host).get()
      #expect(reread.policy == profile.policy, "\(builtin.name) changed on a round trip:\n\(written)")
    }
  }

  @Test func defaultKeepsTheOriginalLimits() throws {
    let profile = try ProfileStore.parseBuiltin(BuiltinProfiles.sources.first { $0.name == "default" }!, host: Self.host)
    #expect(profile.policy.limits == ResourceLimits(cpus: 2, memoryBytes: 512 << 20, maxProcesses: 100))
  }

  @Test func builtinLimitsShrinkToASmallHost() throws {
    let small = HostFacts(cpus: 1, memoryBytes: 256 << 20)
    let profile = try ProfileStore.parseBuiltin(BuiltinProfiles.sources.first { $0.name == "default" }!, host: small)
    #expect(profile.policy.limits.cpus == 1)
    #expect(profile.policy.limits.memoryBytes == 256 << 20)
  }

  @Test func userFileShadowsBuiltin() throws {
    var template = Array("/tmp/hops-profile-test-XXXXXX".utf8CString)
    let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let home = HopsHome(root: dir)
    try FileManager.default.createDirectory(atPath: home.profilesDir, withIntermediateDirectories: true)
    try Data("description = \"mine\"\n".utf8).write(to: URL(fileURLWithPath: home.profilesDir + "/default.toml"))
    let store = ProfileStore(home: home, systemDirectory: dir + "/etc")
    #expect(try store.load("default", host: Self.host).description == "mine")
    let listing = store.list(host: Self.host).first { $0.name == "default" }!
    #expect(listing.origin == .file(home.profilesDir + "/default.toml"))
    #expect(listing.shadows == [.builtin])
    #expect(throws: HopsError.self) { try store.load("nope", host: Self.host) }
  }
}

@Suite struct LimitTextTests {
  @Test(arguments: [("30s", 30.0), ("5m", 300), ("1.5h", 5400), ("500ms", 0.5), ("12", 12), ("2d", 172_800)])
  func durations(text: String, seconds: Double) throws {
    #expect(try DurationText.parse(text) == seconds)
  }

  @Test(arguments: ["", "soon", "-1s", "5x"])
  func badDurations(text: String) {
    #expect(throws: HopsError.self) { try DurationText.parse(text) }
  }

  @Test func cpusetLists() {
    #expect(ResourceLimits.cpusetMembers("0-2,5") == [0, 1, 2, 5])
    #expect(ResourceLimits.cpusetMembers("3") == [3])
    #expect(ResourceLimits.cpusetMembers("2-1") == nil)
    #expect(ResourceLimits.cpusetMembers("a") == nil)
    #expect(ResourceLimits.cpusetMembers("1,,2") == nil)
  }
}
