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
}
