import HopsCore
import Testing

@testable import HopsPolicy

@Suite struct PolicyTests {
  @Test func defaultPolicyIsValidAndDisabled() throws {
    let policy = Policy(workspace: "/tmp")
    try policy.validate()
    #expect(policy.network == .disabled)
    #expect(policy.workingDirectory == "/workspace")
    #expect(policy.environment.contains { $0.key == "PATH" && $0.value.contains("/bin") })
  }

  @Test func unknownNetworkModeNamesTheChoices() {
    #expect(throws: HopsError.self) { try NetworkMode.parse("wifi") }
    do { _ = try NetworkMode.parse("wifi") } catch let error as HopsError {
      #expect(error.message.contains("wifi"))
      #expect(error.hint?.contains("loopback") == true)
    } catch { Issue.record("unexpected \(error)") }
  }

  @Test func unimplementedNetworkModesAreRefusedNotFaked() {
    var policy = Policy()
    policy.network = .outbound
    #expect(throws: HopsError.self) { try policy.validate() }
  }

  @Test(arguments: ["", "../x", "a/b", ".hidden", "-x", String(repeating: "a", count: 65)])
  func badRootfsNamesAreRefused(name: String) {
    #expect(throws: HopsError.self) { try Policy.validateName(name, what: "rootfs") }
  }

  @Test(arguments: ["default", "alpine-3.20", "my_rootfs"])
  func goodRootfsNamesPass(name: String) throws {
    try Policy.validateName(name, what: "rootfs")
  }

  @Test func relativeWorkingDirectoryIsRefused() {
    var policy = Policy()
    policy.workingDirectory = "work"
    #expect(throws: HopsError.self) { try policy.validate() }
  }

  @Test func environmentAssignmentParsing() throws {
    let (key, value) = try Policy.parseEnvironmentAssignment("A=b=c")
    #expect(key == "A" && value == "b=c")
    #expect(throws: HopsError.self) { try Policy.parseEnvironmentAssignment("NOVALUE") }
    #expect(throws: HopsError.self) { try Policy.parseEnvironmentAssignment("=x") }
  }

  @Test func setEnvironmentReplacesInPlace() {
    var policy = Policy()
    policy.setEnvironment("HOME", "/workspace")
    policy.setEnvironment("NEW", "1")
    #expect(policy.environment.filter { $0.key == "HOME" }.map(\.value) == ["/workspace"])
    #expect(policy.environment.last?.key == "NEW")
  }
}
