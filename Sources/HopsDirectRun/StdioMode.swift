import HopsCore
import HopsOS

/// How a run's or an exec's stdin and stdout meet the sandbox.
public enum StdioMode: Equatable, Sendable {
  /// Raw mode locally, a pseudo-terminal in the sandbox, window size followed.
  case terminal
  /// stdin, stdout and stderr as byte streams; stdin not read when told so.
  case pipes(forwardStdin: Bool)

  /// From a terminal (stdin and stdout both), a run or exec is interactive with
  /// a terminal unless told otherwise, as the original Hops was; piped input is
  /// forwarded without one.
  public static func choose(tty: Bool, interactive: Bool, noInteractive: Bool) throws -> StdioMode {
    let stdinIsTerminal = Terminal.isTerminal(0)
    if tty {
      guard stdinIsTerminal else {
        throw HopsError.invalid("-t needs a terminal on stdin, and stdin is not one", hint: "drop -t, or use -i to keep stdin open without a terminal")
      }
      return .terminal
    }
    if interactive { return .pipes(forwardStdin: true) }
    if stdinIsTerminal && noInteractive { return .pipes(forwardStdin: false) }
    if stdinIsTerminal && Terminal.isTerminal(1) { return .terminal }
    return .pipes(forwardStdin: true)
  }
}
