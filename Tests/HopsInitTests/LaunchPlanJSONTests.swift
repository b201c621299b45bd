import FoundationEssentials
import HopsCore
import HopsOS
import Testing

@testable import HopsInit

/// The daemon writes plans with JSONEncoder; hops-init reads them by hand.
/// Every field must come back as it was, and a plan that lacks one, or has
/// one of the wrong type, is refused naming it.
@Suite struct LaunchPlanJSONTests {
  static var plans: [LaunchPlan] {
    let minimal = LaunchPlan(
      lowerDir: "", upperDir: "", workDir: "", rootfsMount: "", workspace: nil, workspaceTarget: "/workspace",
      hostname: "hops", workingDirectory: "/", argv: ["/bin/true"], environment: [], capabilities: [])
    var full = LaunchPlan(
      lowerDir: "/l", upperDir: "/u", workDir: "/w", rootfsMount: "/r", workspace: "/home/u/pro ject",
      workspaceTarget: "/workspace", hostname: "box", workingDirectory: "/workspace/sub",
      argv: ["sh", "-c", "echo \"hi\" \\ $X\n"], environment: ["PATH=/bin", "É=\u{01}🙂"],
      capabilities: LaunchPlan.defaultCapabilities,
      mounts: [
        PlanMount(kind: .bind, source: "/etc/hosts", destination: "/etc/hosts", readOnly: true, noExec: true),
        PlanMount(kind: .tmpfs, source: "tmpfs", destination: "/tmp", data: "size=64m,mode=1777"),
        PlanMount(kind: .overlay, source: "/data", destination: "/data", upperDir: "/s/u2", workDir: "/s/w2"),
      ],
      maskedPaths: ["/proc/kcore", "/secret"], loopbackUp: true,
      network: PlanNetwork(interface: "eth0", address: 0x0A58_0002, prefixLength: 24, gateway: UInt32.max),
      terminal: Terminal.Size(rows: 50, columns: UInt16.max), user: "1000:1000",
      seccompFilter: Data((0..<1000).map { UInt8(truncatingIfNeeded: $0 * 7) }))
    full.mounts[0].descriptor = 2
    full.mounts[0].sourceIsDirectory = false
    full.mounts[2].descriptor = 0
    full.mounts[2].sourceIsDirectory = true
    full.descriptorCount = 3
    full.stdioPassed = true
    full.userNamespace = true
    full.rootDescriptor = 1
    full.spareDescriptors = [0, 2]
    full.prepared = true
    var noWorkspaceMount = full
    noWorkspaceMount.workspaceMount = nil
    var shortFilters = [minimal, minimal]
    shortFilters[0].seccompFilter = Data([1])
    shortFilters[1].seccompFilter = Data([1, 2])
    return [minimal, full, noWorkspaceMount] + shortFilters
  }

  @Test(arguments: plans) func readsWhatJSONEncoderWrote(_ plan: LaunchPlan) throws {
    let written = try JSONEncoder().encode(plan)
    #expect(try LaunchPlan(json: Array(written)) == plan)
  }

  @Test func refusesAPlanWithoutAField() throws {
    let written = try JSONEncoder().encode(Self.plans[1])
    guard case .object(let members) = try JSONValue(parsing: Array(written)) else {
      Issue.record("not an object")
      return
    }
    for required in ["lowerDir", "argv", "capabilities", "loopbackUp", "descriptorCount", "prepared"] {
      let text = JSONText.object(members.filter { $0.key != required }.map { ($0.key, Self.text(of: $0.value)) })
      #expect(throws: JSONValue.Mismatch.self, "\(required)") { try LaunchPlan(json: Array(text.utf8)) }
    }
  }

  @Test func namesTheMemberOfTheWrongType() throws {
    var text = String(decoding: try JSONEncoder().encode(Self.plans[1]), as: UTF8.self)
    text = text.replacing(#""kind":"tmpfs""#, with: #""kind":"nfs""#)
    do {
      _ = try LaunchPlan(json: Array(text.utf8))
      Issue.record("a plan with an unknown mount kind was read")
    } catch let error as JSONValue.Mismatch {
      #expect(error.path == "mounts[1].kind")
    }
    let badFilter = String(decoding: try JSONEncoder().encode(Self.plans[3]), as: UTF8.self)
      .replacing(#""AQ==""#, with: #""AQ=""#)
    #expect(throws: JSONValue.Mismatch(path: "seccompFilter", expected: "Base64 text")) {
      try LaunchPlan(json: Array(badFilter.utf8))
    }
  }

  /// A value written back as JSON text (for taking members out of a plan).
  static func text(of value: JSONValue) -> String {
    switch value {
    case .null: return "null"
    case .bool(let flag): return flag ? "true" : "false"
    case .number(let text): return text
    case .string(let text): return JSONText.quoted(text)
    case .array(let elements): return "[" + elements.map(text(of:)).joined(separator: ",") + "]"
    case .object(let members): return JSONText.object(members.map { ($0.key, text(of: $0.value)) })
    }
  }
}

/// The daemon writes plans by hand: JSONDecoder and the hand reader must both
/// read them back as they were.
@Suite struct LaunchPlanWritingTests {
  @Test(arguments: LaunchPlanJSONTests.plans) func readsBackWhatTheDaemonWrote(_ plan: LaunchPlan) throws {
    let written = Array(plan.json.utf8)
    #expect(try JSONDecoder().decode(LaunchPlan.self, from: Data(written)) == plan)
    #expect(try LaunchPlan(json: written) == plan)
  }
}

/// On the wire a plan's seccomp program follows its JSON as raw bytes.
@Suite struct LaunchPlanFrameTests {
  @Test(arguments: LaunchPlanJSONTests.plans) func readsBackItsFrame(_ plan: LaunchPlan) throws {
    let frame = plan.frame
    #expect(try LaunchPlan(frame: frame) == plan)
    let text = frame.prefix { $0 != 0 }
    // The JSON part carries no program; the bytes after it are the program.
    #expect(try JSONValue.Members(try JSONValue(parsing: Array(text))).optionalBase64("seccompFilter") == nil)
    if let filter = plan.seccompFilter {
      #expect(Array(frame.dropFirst(text.count + 1)) == Array(filter))
    } else {
      #expect(text.count == frame.count)
    }
  }

  @Test func refusesTwoPrograms() throws {
    let plan = LaunchPlanJSONTests.plans[3]
    let frame = Array(plan.json.utf8) + [0, 9]
    #expect(throws: JSONValue.Mismatch.self) { try LaunchPlan(frame: frame) }
  }
}

/// The daemon writes exec requests with JSONEncoder; hops-init reads them by hand.
@Suite struct InitRequestJSONTests {
  static let requests: [InitRequest] = [
    .signal(exec: 3, signal: 15),
    .exec(ExecPlan(id: 1, argv: ["/bin/sh"], environment: [], workingDirectory: "/")),
    .exec(ExecPlan(
      id: 42, argv: ["sh", "-c", "echo \"é\"\n"], environment: ["A=1", "TERM=xterm"], workingDirectory: "/w s",
      terminal: Terminal.Size(rows: 24, columns: 80), user: "1000:1000")),
  ]

  @Test(arguments: requests) func readsWhatJSONEncoderWrote(_ request: InitRequest) throws {
    #expect(try InitRequest(json: Array(try JSONEncoder().encode(request))) == request)
  }

  @Test func refusesOtherRequests() {
    for text in [#"{"kill":{}}"#, #"{"signal":{"exec":1}}"#, #"{"exec":{"_0":{"id":1}}}"#, "[]"] {
      #expect(throws: (any Error).self, "\(text)") { try InitRequest(json: Array(text.utf8)) }
    }
  }
}
