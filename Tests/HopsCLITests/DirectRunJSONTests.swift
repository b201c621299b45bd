import FoundationEssentials
import HopsCore
import Testing

@testable import HopsDirectRun

/// The `hops` front writes its messages by hand; the daemon reads them with
/// JSONDecoder. They must come back exactly as they were.
@Suite struct DirectRunJSONTests {
  static let inputs: [DirectRunInput] = [
    .signal(2),
    .request(DirectRunRequest(
      settings: SandboxSettings(), workspace: "/tmp", command: ["/bin/true"], name: nil, terminalType: nil,
      policyFile: nil)),
    .request(DirectRunRequest(
      settings: SandboxSettings(
        profile: "strict", policyFile: "./p.toml", rootfs: "alpine", image: "img:1", network: "outbound",
        allowNet: ["10.0.0.0/8:80", "x"], publish: ["8080:80"], cpus: "0.5", cpuset: "0-1", memory: "256M",
        maxProcesses: 50, timeout: "5s", workspaceMode: "overlay", environment: ["A=1", "B=\"q\" \\ \n"],
        workingDirectory: "/w", hostname: "box", keep: true),
      workspace: "/home/u/pro ject/\u{01}é", command: ["sh", "-c", "echo \"hi\"\t$X"], name: "job-1",
      terminalType: "xterm-256color", policyFile: PolicyFileText(path: "p.toml", text: "[sandbox]\nhostname = \"h\"\n"))),
  ]

  @Test(arguments: inputs) func readsBackAsWritten(_ input: DirectRunInput) throws {
    let decoded = try JSONDecoder().decode(DirectRunInput.self, from: Data(input.json.utf8))
    #expect(decoded == input)
  }
}
