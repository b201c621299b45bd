import HopsOS

/// One more process in a running sandbox (`hops exec`): what hops-init starts,
/// with the same restrictions as the sandbox's own command (it inherits
/// hops-init's reduced capabilities and no_new_privs).
public struct ExecPlan: Codable, Sendable, Equatable {
  /// Chosen by the daemon; unique within the sandbox. Reports name it.
  public var id: Int
  /// argv; argv[0] is resolved through the PATH of `environment`.
  public var argv: [String]
  /// `NAME=VALUE` strings.
  public var environment: [String]
  public var workingDirectory: String
  /// A pseudo-terminal of this size, whose master goes back to the daemon; nil
  /// for the three descriptors that come with the request.
  public var terminal: Terminal.Size?
  /// A user name or uid[:gid] from the sandbox's /etc/passwd; nil for root.
  public var user: String?

  public init(id: Int, argv: [String], environment: [String], workingDirectory: String, terminal: Terminal.Size? = nil, user: String? = nil) {
    self.id = id
    self.argv = argv
    self.environment = environment
    self.workingDirectory = workingDirectory
    self.terminal = terminal
    self.user = user
  }
}
