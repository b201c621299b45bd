import HopsCore

/// What hops-init tells the daemon over the control socket, one JSON frame each.
public enum InitReport: Codable, Sendable, Equatable {
  /// The command is running; `pid` is its pid inside the sandbox.
  case started(pid: Int32)
  /// The terminal's master end comes with this frame (SCM_RIGHTS).
  case terminal
  /// The command ended; `code` is its exit code or 128 + the signal that killed it.
  case exited(code: Int32, signal: Int32)
  /// The sandbox could not be built or the command could not be started. `code`
  /// follows DESIGN.md: 127 not found, 126 not executable, 125 Hops' own failure.
  case failed(code: Int32, message: String)

  /// An exec's process runs (pid inside the sandbox).
  case execStarted(id: Int, pid: Int32)
  /// The master of an exec's terminal comes with this frame.
  case execTerminal(id: Int)
  /// An exec's process ended: its exit code, or 128 + the signal.
  case execExited(id: Int, code: Int32, signal: Int32)
  /// An exec could not start; `code` as for `failed`.
  case execFailed(id: Int, code: Int32, message: String)
}

extension InitReport {
  /// The report as JSONEncoder would write it, written by hand (see JSONText):
  /// a sandbox's hops-init is a new process, and its reports are on the run's
  /// path. The daemon reads them with `init(json:)`.
  public var json: String {
    switch self {
    case .started(let pid): return #"{"started":{"pid":\#(pid)}}"#
    case .terminal: return #"{"terminal":{}}"#
    case .exited(let code, let signal): return #"{"exited":{"code":\#(code),"signal":\#(signal)}}"#
    case .failed(let code, let message):
      return #"{"failed":{"code":\#(code),"message":"# + JSONText.quoted(message) + "}}"
    case .execStarted(let id, let pid): return #"{"execStarted":{"id":\#(id),"pid":\#(pid)}}"#
    case .execTerminal(let id): return #"{"execTerminal":{"id":\#(id)}}"#
    case .execExited(let id, let code, let signal):
      return #"{"execExited":{"id":\#(id),"code":\#(code),"signal":\#(signal)}}"#
    case .execFailed(let id, let code, let message):
      return #"{"execFailed":{"id":\#(id),"code":\#(code),"message":"# + JSONText.quoted(message) + "}}"
    }
  }
}

extension InitReport {
  /// Reads a report (the synthesized Codable layout, as `json` writes it) by
  /// hand: the daemon reads two at every run, and JSONDecoder took 0.035 ms
  /// of CPU for them. Unit tests read what `json` and JSONEncoder write.
  public init(json bytes: [UInt8]) throws {
    let (kind, members) = try JSONValue.Members.enumCase(parsing: bytes)
    switch kind {
    case "started": self = .started(pid: try members.int32("pid"))
    case "terminal": self = .terminal
    case "exited": self = .exited(code: try members.int32("code"), signal: try members.int32("signal"))
    case "failed": self = .failed(code: try members.int32("code"), message: try members.string("message"))
    case "execStarted": self = .execStarted(id: try members.int("id"), pid: try members.int32("pid"))
    case "execTerminal": self = .execTerminal(id: try members.int("id"))
    case "execExited":
      self = .execExited(id: try members.int("id"), code: try members.int32("code"), signal: try members.int32("signal"))
    case "execFailed":
      self = .execFailed(id: try members.int("id"), code: try members.int32("code"), message: try members.string("message"))
    default: throw JSONValue.Mismatch(path: kind, expected: "a report hops-init sends")
    }
  }
}

/// What the daemon asks of a running hops-init, one JSON frame each, after the
/// launch plan and the "go".
public enum InitRequest: Codable, Sendable, Equatable {
  /// Start another process in the sandbox. Without a terminal, its stdin,
  /// stdout and stderr come with this frame as three descriptors.
  case exec(ExecPlan)
  /// Deliver a signal to an exec's process.
  case signal(exec: Int, signal: Int32)
}
