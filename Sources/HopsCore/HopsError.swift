/// The one error type of Hops. Every layer throws it; the edges turn it into a
/// gRPC status (daemon) or a one-line message plus exit code 125 (CLI).
///
/// `message` says what went wrong, `hint` says what the user can do about it.
public struct HopsError: Error, CustomStringConvertible, Sendable, Equatable {
  public enum Kind: String, Sendable, Codable {
    /// The request itself is wrong: a bad flag, path, name or value.
    case invalidArgument
    /// Something named does not exist (a rootfs, a file).
    case notFound
    /// Something with that name already exists.
    case alreadyExists
    /// The host lacks what is needed, or the daemon cannot be reached.
    case unavailable
    /// An operation on the host failed.
    case failed
  }

  public var kind: Kind
  public var message: String
  public var hint: String?

  public init(_ kind: Kind, _ message: String, hint: String? = nil) {
    self.kind = kind
    self.message = message
    self.hint = hint
  }

  public var description: String {
    if let hint { return "\(message) (\(hint))" }
    return message
  }

  public static func invalid(_ message: String, hint: String? = nil) -> HopsError {
    HopsError(.invalidArgument, message, hint: hint)
  }
  public static func notFound(_ message: String, hint: String? = nil) -> HopsError {
    HopsError(.notFound, message, hint: hint)
  }
  public static func failed(_ message: String, hint: String? = nil) -> HopsError {
    HopsError(.failed, message, hint: hint)
  }
}
