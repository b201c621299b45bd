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

  @Test func networkOptionsNeedTheirModes() throws {
    var policy = Policy()
    policy.allowNet = [try NetworkAllowance.parse("10.1.0.0/16:443")]
    #expect(throws: HopsError.self) { try policy.validate() }
    policy.network = .outbound
    try policy.validate()
    policy.publish = [try PortMapping.parse("8080:80")]
    #expect(throws: HopsError.self) { try policy.validate() }
    policy.network = .full
    try policy.validate()
    policy.publish.append(try PortMapping.parse("8080:81/tcp"))
    #expect(throws: HopsError.self) { try policy.validate() }
  }

  @Test func allowancesAndPortMappingsParse() throws {
    #expect(try NetworkAllowance.parse("192.168.1.77/24").description == "192.168.1.0/24")
    #expect(try NetworkAllowance.parse("10.0.0.5:8443").description == "10.0.0.5/32:8443")
    #expect(try PortMapping.parse("5353:53/udp") == PortMapping(hostPort: 5353, sandboxPort: 53, proto: .udp))
    for bad in ["10.0.0.0/40", "300.1.1.1", "10.0.0.1:0", "::1"] {
      #expect(throws: HopsError.self) { try NetworkAllowance.parse(bad) }
    }
    for bad in ["80", "0:80", "80:80/sctp", "a:b"] {
      #expect(throws: HopsError.self) { try PortMapping.parse(bad) }
    }
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
