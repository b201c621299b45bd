import HopsCore

// The messages of a direct run on `$HOPS_HOME/run-2.sock`: length-prefixed
// frames (a 4-byte little-endian length, then one JSON document). The first
// input is the request, sent with the command's stdin, stdout and stderr as
// descriptors (SCM_RIGHTS): the sandbox's command reads and writes them itself,
// nothing is relayed. Only pipes, regular files, non-terminal character
// devices and connected stream sockets are taken. Not gRPC: the clients are
// the small `hops` front, in C (CFront, which writes and reads these same
// layouts), and hops-cli's runs that need no terminal.

/// Client to daemon.
public enum DirectRunInput: Codable, Equatable, Sendable {
  /// The first frame, with the command's stdin, stdout and stderr attached.
  case request(DirectRunRequest)
  /// A signal for the command (the client got it).
  case signal(Int32)
}

extension DirectRunInput {
  /// The message as JSONEncoder would write it, written by hand (see
  /// JSONText), as hops-cli sends it (the `hops` front writes the same in C).
  /// The daemon reads it with `init(json:)`.
  public var json: String {
    switch self {
    case .request(let request): return #"{"request":{"_0":"# + request.json + "}}"
    case .signal(let number): return #"{"signal":{"_0":\#(number)}}"#
    }
  }
}

/// A run as the client asks for it: its flags as given, and what only the
/// client can know. The daemon builds the policy from this (after the same
/// checks as for a gRPC run).
public struct DirectRunRequest: Codable, Equatable, Sendable {
  public var settings: SandboxSettings
  /// The workspace, resolved by the client (absolute, no symlinks).
  public var workspace: String
  public var command: [String]
  public var name: String?
  /// The client's TERM, which the command inherits.
  public var terminalType: String?
  /// `--policy-file`, read by the client.
  public var policyFile: PolicyFileText?

  public init(
    settings: SandboxSettings, workspace: String, command: [String], name: String?, terminalType: String?,
    policyFile: PolicyFileText?
  ) {
    self.settings = settings
    self.workspace = workspace
    self.command = command
    self.name = name
    self.terminalType = terminalType
    self.policyFile = policyFile
  }
}

extension DirectRunRequest {
  var json: String {
    JSONText.object([
      ("settings", settings.json), ("workspace", JSONText.quoted(workspace)), ("command", JSONText.array(command)),
      ("name", name.map(JSONText.quoted)), ("terminalType", terminalType.map(JSONText.quoted)),
      ("policyFile", policyFile.map { JSONText.object([("path", JSONText.quoted($0.path)), ("text", JSONText.quoted($0.text))]) }),
    ])
  }
}

extension SandboxSettings {
  var json: String {
    let text = { (value: String?) in value.map(JSONText.quoted) }
    return JSONText.object([
      ("profile", text(profile)), ("policyFile", text(policyFile)), ("rootfs", text(rootfs)), ("image", text(image)),
      ("network", text(network)), ("allowNet", JSONText.array(allowNet)), ("publish", JSONText.array(publish)),
      ("cpus", text(cpus)), ("cpuset", text(cpuset)), ("memory", text(memory)), ("maxProcesses", maxProcesses.map { "\($0)" }),
      ("timeout", text(timeout)), ("workspaceMode", text(workspaceMode)), ("environment", JSONText.array(environment)),
      ("workingDirectory", text(workingDirectory)), ("hostname", text(hostname)), ("keep", JSONText.bool(keep)),
    ])
  }
}

/// Daemon to client.
public enum DirectRunOutput: Codable, Equatable, Sendable {
  case started(sandboxID: String, address: String?)
  case exit(DirectRunExit)
  /// The run could not start: why, for the user (the client exits 125).
  case error(String)
}

/// How the command ended, as `hops run` tells it.
public struct DirectRunExit: Codable, Equatable, Sendable {
  public var code: Int32
  public var signal: Int32
  /// Why Hops ended it (timeout, out of memory, killed), if it did.
  public var message: String?
  /// Where `--keep` left the sandbox's files.
  public var keptPath: String?
  public var wallSeconds: Double
  public var cpuSeconds: Double
  public var peakMemoryBytes: UInt64
  public var peakProcesses: Int

  public init(
    code: Int32, signal: Int32, message: String?, keptPath: String?, wallSeconds: Double, cpuSeconds: Double,
    peakMemoryBytes: UInt64, peakProcesses: Int
  ) {
    self.code = code
    self.signal = signal
    self.message = message
    self.keptPath = keptPath
    self.wallSeconds = wallSeconds
    self.cpuSeconds = cpuSeconds
    self.peakMemoryBytes = peakMemoryBytes
    self.peakProcesses = peakProcesses
  }
}

extension DirectRunOutput {
  /// The message as JSONEncoder would write it, written by hand (see
  /// JSONText): the daemon sends two at every run.
  public var json: String {
    switch self {
    case .started(let id, let address):
      return #"{"started":"# + JSONText.object([("sandboxID", JSONText.quoted(id)), ("address", address.map(JSONText.quoted))]) + "}"
    case .exit(let exit): return #"{"exit":{"_0":"# + exit.json + "}}"
    case .error(let message): return #"{"error":{"_0":"# + JSONText.quoted(message) + "}}"
    }
  }
}

extension DirectRunExit {
  var json: String {
    // Seconds are finite; a JSON number cannot say otherwise.
    let seconds = { (value: Double) in value.isFinite ? "\(value)" : "0" }
    return JSONText.object([
      ("code", "\(code)"), ("signal", "\(signal)"), ("message", message.map(JSONText.quoted)),
      ("keptPath", keptPath.map(JSONText.quoted)), ("wallSeconds", seconds(wallSeconds)),
      ("cpuSeconds", seconds(cpuSeconds)), ("peakMemoryBytes", "\(peakMemoryBytes)"),
      ("peakProcesses", "\(peakProcesses)"),
    ])
  }
}

extension DirectRunOutput {
  /// Reads the daemon's message (the synthesized Codable layout) by hand (see
  /// JSONValue), as hops-cli reads it (the `hops` front reads it in C). Nil
  /// for anything else; unit tests read what JSONEncoder and `json` write.
  public init?(json bytes: [UInt8]) {
    guard let (kind, body) = (try? JSONValue(parsing: bytes))?.onlyMember else { return nil }
    switch kind {
    case "started":
      guard let id = body["sandboxID"]?.string, let address = body.optionalText("address") else { return nil }
      self = .started(sandboxID: id, address: address)
    case "exit":
      guard let exit = body["_0"].flatMap(DirectRunExit.init(json:)) else { return nil }
      self = .exit(exit)
    case "error":
      guard let message = body["_0"]?.string else { return nil }
      self = .error(message)
    default:
      return nil
    }
  }
}

extension DirectRunExit {
  init?(json value: JSONValue) {
    guard let code = value["code"]?.int64.flatMap(Int32.init(exactly:)),
      let signal = value["signal"]?.int64.flatMap(Int32.init(exactly:)),
      let wallSeconds = value["wallSeconds"]?.double, let cpuSeconds = value["cpuSeconds"]?.double,
      let peakMemoryBytes = value["peakMemoryBytes"]?.uint64, let peakProcesses = value["peakProcesses"]?.int64
    else { return nil }
    guard let message = value.optionalText("message"), let keptPath = value.optionalText("keptPath") else { return nil }
    self.init(
      code: code, signal: signal, message: message, keptPath: keptPath, wallSeconds: wallSeconds,
      cpuSeconds: cpuSeconds, peakMemoryBytes: peakMemoryBytes, peakProcesses: Int(peakProcesses))
  }
}

extension JSONValue {
  /// An optional text member as JSONDecoder reads it: absent or null is
  /// `.some(nil)`; nil only when the member is there but not a string.
  fileprivate func optionalText(_ key: String) -> String?? {
    switch self[key] {
    case nil, .null?: return .some(nil)
    case .string(let text)?: return .some(text)
    default: return nil
    }
  }
}

extension DirectRunInput {
  /// Reads a client's message (the synthesized Codable layout, as `json`
  /// writes it) by hand: the daemon reads one at every run, and JSONDecoder
  /// took a tenth of a millisecond of it. Unit tests read what `json` and
  /// JSONEncoder write.
  public init(json bytes: [UInt8]) throws {
    let (kind, members) = try JSONValue.Members.enumCase(parsing: bytes)
    switch kind {
    case "request": self = .request(try DirectRunRequest(json: try members.object("_0")))
    case "signal": self = .signal(try members.int32("_0"))
    default: throw JSONValue.Mismatch(path: kind, expected: "request or signal")
    }
  }
}

extension DirectRunRequest {
  init(json request: JSONValue.Members) throws {
    let policyFile = try request.optionalObject("policyFile").map { (file) throws in
      PolicyFileText(path: try file.string("path"), text: try file.string("text"))
    }
    self.init(
      settings: try SandboxSettings(json: try request.object("settings")), workspace: try request.string("workspace"),
      command: try request.strings("command"), name: try request.optionalString("name"),
      terminalType: try request.optionalString("terminalType"), policyFile: policyFile)
  }
}

extension SandboxSettings {
  init(json settings: JSONValue.Members) throws {
    self.init(
      profile: try settings.optionalString("profile"), policyFile: try settings.optionalString("policyFile"),
      rootfs: try settings.optionalString("rootfs"), image: try settings.optionalString("image"),
      network: try settings.optionalString("network"), allowNet: try settings.strings("allowNet"),
      publish: try settings.strings("publish"), cpus: try settings.optionalString("cpus"),
      cpuset: try settings.optionalString("cpuset"), memory: try settings.optionalString("memory"),
      maxProcesses: try settings.optionalInt("maxProcesses"), timeout: try settings.optionalString("timeout"),
      workspaceMode: try settings.optionalString("workspaceMode"), environment: try settings.strings("environment"),
      workingDirectory: try settings.optionalString("workingDirectory"), hostname: try settings.optionalString("hostname"),
      keep: try settings.bool("keep"))
  }
}
