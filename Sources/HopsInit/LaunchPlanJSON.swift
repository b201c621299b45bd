import FoundationEssentials
import HopsCore
import HopsOS

// hops-init reads its plan by hand (see JSONValue), not with JSONDecoder: the
// first JSONDecoder use in a process costs the Swift runtime about half a
// millisecond of CPU, finding and instantiating the generic types Codable
// needs, and a warm hops-init used to spend it at every sandbox just to have
// it done before its plan came. The daemon writes it by hand too (JSONText;
// JSONEncoder took about 0.1 ms of a launch), in the synthesized Codable
// layout: unit tests read what each writes with the other and with
// JSONDecoder.

extension LaunchPlan {
  public var json: String {
    let text = { (value: String?) in value.map(JSONText.quoted) }
    return JSONText.object([
      ("lowerDir", text(lowerDir)), ("upperDir", text(upperDir)), ("workDir", text(workDir)),
      ("rootfsMount", text(rootfsMount)), ("workspace", text(workspace)), ("workspaceTarget", text(workspaceTarget)),
      ("workspaceMount", workspaceMount?.json), ("mounts", JSONText.array(written: mounts.map(\.json))),
      ("maskedPaths", JSONText.array(maskedPaths)), ("loopbackUp", JSONText.bool(loopbackUp)),
      ("network", network?.json), ("terminal", terminal?.json), ("user", text(user)), ("hostname", text(hostname)),
      ("workingDirectory", text(workingDirectory)), ("argv", JSONText.array(argv)),
      ("environment", JSONText.array(environment)), ("capabilities", JSONText.array(capabilities)),
      ("seccompFilter", seccompFilter.map { JSONText.quoted(Base64.encode([UInt8]($0))) }),
      ("descriptorCount", "\(descriptorCount)"), ("stdioPassed", JSONText.bool(stdioPassed)),
      ("userNamespace", JSONText.bool(userNamespace)), ("rootDescriptor", rootDescriptor.map { "\($0)" }),
      ("spareDescriptors", JSONText.array(written: spareDescriptors.map { "\($0)" })),
      ("prepared", JSONText.bool(prepared)),
    ])
  }
}

// On the control socket a plan is one frame: its JSON without the seccomp
// program, then a NUL (which JSON text never holds), then the program's
// bytes as they are. In base64 inside the JSON, the program (2.6 KB from
// libseccomp then) was most of a 5 KB plan: encoding, quoting, parsing and
// decoding it cost 0.06 ms of CPU a run.
extension LaunchPlan {
  public var frame: [UInt8] {
    guard let filter = seccompFilter else { return Array(json.utf8) }
    var withoutFilter = self
    withoutFilter.seccompFilter = nil
    return Array(withoutFilter.json.utf8) + [0] + filter
  }

  public init(frame: [UInt8]) throws {
    guard let end = frame.firstIndex(of: 0) else {
      try self.init(json: frame)
      return
    }
    try self.init(json: Array(frame[..<end]))
    guard seccompFilter == nil else { throw JSONValue.Mismatch(path: "seccompFilter", expected: "one program, not two") }
    seccompFilter = Data(frame[(end + 1)...])
  }
}

extension PlanMount {
  var json: String {
    JSONText.object([
      ("kind", JSONText.quoted(kind.rawValue)), ("source", JSONText.quoted(source)),
      ("destination", JSONText.quoted(destination)), ("readOnly", JSONText.bool(readOnly)),
      ("noExec", JSONText.bool(noExec)), ("data", JSONText.quoted(data)), ("upperDir", JSONText.quoted(upperDir)),
      ("workDir", JSONText.quoted(workDir)), ("descriptor", descriptor.map { "\($0)" }),
      ("sourceIsDirectory", sourceIsDirectory.map(JSONText.bool)),
    ])
  }
}

extension PlanNetwork {
  var json: String {
    JSONText.object([
      ("interface", JSONText.quoted(interface)), ("address", "\(address)"), ("prefixLength", "\(prefixLength)"),
      ("gateway", "\(gateway)"),
    ])
  }
}

extension Terminal.Size {
  var json: String { JSONText.object([("rows", "\(rows)"), ("columns", "\(columns)")]) }
}

extension LaunchPlan {
  public init(json bytes: [UInt8]) throws {
    let plan = try JSONValue.Members(try JSONValue(parsing: bytes))
    self.init(
      lowerDir: try plan.string("lowerDir"), upperDir: try plan.string("upperDir"), workDir: try plan.string("workDir"),
      rootfsMount: try plan.string("rootfsMount"), workspace: try plan.optionalString("workspace"),
      workspaceTarget: try plan.string("workspaceTarget"), hostname: try plan.string("hostname"),
      workingDirectory: try plan.string("workingDirectory"), argv: try plan.strings("argv"),
      environment: try plan.strings("environment"), capabilities: try plan.strings("capabilities"),
      mounts: try plan.objects("mounts").map { (mount) throws in try PlanMount(json: mount) },
      maskedPaths: try plan.strings("maskedPaths"), loopbackUp: try plan.bool("loopbackUp"),
      network: try plan.optionalObject("network").map { (network) throws in try PlanNetwork(json: network) },
      terminal: try plan.optionalObject("terminal").map { (size) throws in try Terminal.Size(json: size) },
      user: try plan.optionalString("user"), seccompFilter: try plan.optionalBase64("seccompFilter").map { Data($0) })
    // Absent, the initializer would make one from the workspace: the daemon
    // always says which (or that there is none).
    workspaceMount = try plan.optionalObject("workspaceMount").map { (mount) throws in try PlanMount(json: mount) }
    descriptorCount = try plan.int("descriptorCount")
    stdioPassed = try plan.bool("stdioPassed")
    userNamespace = try plan.bool("userNamespace")
    rootDescriptor = try plan.optionalInt("rootDescriptor")
    // Optional: a plan without it (none to attach) is as good as before.
    spareDescriptors = try plan.optionalInts("spareDescriptors") ?? []
    prepared = try plan.bool("prepared")
  }
}

extension PlanMount {
  init(json mount: JSONValue.Members) throws {
    guard let kind = Kind(rawValue: try mount.string("kind")) else {
      throw JSONValue.Mismatch(path: mount.path + ".kind", expected: "bind, tmpfs or overlay")
    }
    self.init(
      kind: kind, source: try mount.string("source"), destination: try mount.string("destination"),
      readOnly: try mount.bool("readOnly"), noExec: try mount.bool("noExec"), data: try mount.string("data"),
      upperDir: try mount.string("upperDir"), workDir: try mount.string("workDir"))
    descriptor = try mount.optionalInt("descriptor")
    sourceIsDirectory = try mount.optionalBool("sourceIsDirectory")
  }
}

extension PlanNetwork {
  init(json network: JSONValue.Members) throws {
    self.init(
      interface: try network.string("interface"), address: try network.uint32("address"),
      prefixLength: try network.int("prefixLength"), gateway: try network.uint32("gateway"))
  }
}

extension Terminal.Size {
  init(json size: JSONValue.Members) throws {
    self.init(rows: try size.uint16("rows"), columns: try size.uint16("columns"))
  }
}

extension InitRequest {
  /// Reads a request the daemon wrote with JSONEncoder, by hand: with the plan
  /// read by hand too, hops-init never pays JSONDecoder's first use, not even
  /// at a sandbox's first `hops exec`.
  public init(json bytes: [UInt8]) throws {
    let (kind, members) = try JSONValue.Members.enumCase(parsing: bytes)
    switch kind {
    case "exec": self = .exec(try ExecPlan(json: try members.object("_0")))
    case "signal": self = .signal(exec: try members.int("exec"), signal: try members.int32("signal"))
    default: throw JSONValue.Mismatch(path: kind, expected: "exec or signal")
    }
  }
}

extension ExecPlan {
  init(json plan: JSONValue.Members) throws {
    self.init(
      id: try plan.int("id"), argv: try plan.strings("argv"), environment: try plan.strings("environment"),
      workingDirectory: try plan.string("workingDirectory"),
      terminal: try plan.optionalObject("terminal").map { (size) throws in try Terminal.Size(json: size) },
      user: try plan.optionalString("user"))
  }
}
