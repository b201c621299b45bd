/// A named, reusable policy: a TOML file or one of the built-ins.
public struct Profile: Sendable, Equatable {
  public enum Origin: Sendable, Equatable {
    case builtin
    case file(String)

    public var description: String {
      switch self {
      case .builtin: return "built-in"
      case .file(let path): return path
      }
    }
  }

  public var name: String
  public var version: String?
  public var description: String
  public var origin: Origin
  /// The policy this profile describes: Hops' defaults with the profile's keys applied.
  public var policy: Policy

  public init(name: String, version: String? = nil, description: String = "", origin: Origin, policy: Policy) {
    self.name = name
    self.version = version
    self.description = description
    self.origin = origin
    self.policy = policy
  }
}

/// One problem in a profile file, with where it is.
public struct ProfileProblem: Sendable, Equatable, CustomStringConvertible {
  public var file: String
  /// The dotted key (`capabilities.network`), or nil for syntax errors.
  public var key: String?
  /// The line, when the TOML parser knows it.
  public var line: Int?
  public var message: String

  public init(file: String, key: String?, line: Int? = nil, message: String) {
    self.file = file
    self.key = key
    self.line = line
    self.message = message
  }

  public var description: String {
    var location = file
    if let line { location += ":\(line)" }
    if let key { location += ": \(key)" }
    return "\(location): \(message)"
  }
}
