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
  /// path. The daemon reads them with JSONDecoder.
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

/// What the daemon asks of a running hops-init, one JSON frame each, after the
/// launch plan and the "go".
public enum InitRequest: Codable, Sendable, Equatable {
  /// Start another process in the sandbox. Without a terminal, its stdin,
  /// stdout and stderr come with this frame as three descriptors.
  case exec(ExecPlan)
  /// Deliver a signal to an exec's process.
  case signal(exec: Int, signal: Int32)
}
