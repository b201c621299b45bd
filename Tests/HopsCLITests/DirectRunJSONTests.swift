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
    // The daemon reads them by hand: what the front and JSONEncoder write.
    #expect(try DirectRunInput(json: Array(input.json.utf8)) == input)
    #expect(try DirectRunInput(json: Array(try JSONEncoder().encode(input))) == input)
  }

  @Test func refusesOtherInputs() {
    for text in [#"{"signal":{"_0":"x"}}"#, #"{"request":{"_0":{}}}"#, #"{"kill":{}}"#, "{}"] {
      #expect(throws: (any Error).self, "\(text)") { try DirectRunInput(json: Array(text.utf8)) }
    }
  }
}

/// The daemon writes its messages with JSONEncoder; the front reads them by
/// hand. They must come back exactly as they were.
@Suite struct DirectRunOutputJSONTests {
  static let outputs: [DirectRunOutput] = [
    .started(sandboxID: "0123456789ab", address: nil),
    .started(sandboxID: "0123456789ab", address: "10.88.0.2"),
    .error("cannot start: \"quoted\" \\ é\n"),
    .exit(DirectRunExit(
      code: 0, signal: 0, message: nil, keptPath: nil, wallSeconds: 0.004, cpuSeconds: 1e-05,
      peakMemoryBytes: 0, peakProcesses: 1)),
    .exit(DirectRunExit(
      code: 137, signal: 9, message: "sandbox killed: out of memory (limit 64 MiB)", keptPath: "/root/.hops/sandboxes/x y",
      wallSeconds: 12345.678901234, cpuSeconds: 0.1, peakMemoryBytes: UInt64.max, peakProcesses: Int.max)),
  ]

  @Test(arguments: outputs) func readsWhatJSONEncoderWrote(_ output: DirectRunOutput) throws {
    let written = try JSONEncoder().encode(output)
    #expect(DirectRunOutput(json: Array(written)) == output)
  }

  @Test(arguments: outputs) func readsBackWhatTheDaemonWrote(_ output: DirectRunOutput) throws {
    #expect(DirectRunOutput(json: Array(output.json.utf8)) == output)
    #expect(try JSONDecoder().decode(DirectRunOutput.self, from: Data(output.json.utf8)) == output)
  }

  @Test func refusesOtherMessages() {
    for text in [#"{"exit":{"_0":{"code":0}}}"#, #"{"other":{}}"#, #"{"error":{"_0":1}}"#, "[]", "{"] {
      #expect(DirectRunOutput(json: Array(text.utf8)) == nil, "\(text)")
    }
  }
}
