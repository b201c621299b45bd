import HopsCore

extension Policy {
  /// Checks everything that can be checked without touching the host. Throws the first
  /// problem with a message that names the offending value.
  public func validate() throws {
    guard NetworkMode.implemented.contains(network) else {
      throw HopsError(
        .unavailable, "network mode '\(network.rawValue)' is not supported by this build yet",
        hint: "use --network disabled")
    }
    try Policy.validateName(rootfs, what: "rootfs")
    try Policy.validateHostname(hostname)
    guard workingDirectory.hasPrefix("/") else {
      throw HopsError.invalid(
        "working directory '\(workingDirectory)' is not absolute", hint: "give a path starting with /")
    }
    if let workspace, !workspace.hasPrefix("/") {
      throw HopsError.invalid("workspace '\(workspace)' is not an absolute path")
    }
    var seen = Set<String>()
    for (key, value) in environment {
      guard !key.isEmpty, !key.contains("="), !key.contains("\0"), !value.contains("\0") else {
        throw HopsError.invalid(
          "invalid environment variable '\(key)'", hint: "use NAME=VALUE with a non-empty NAME")
      }
      guard seen.insert(key).inserted else {
        throw HopsError.invalid("environment variable '\(key)' is set twice")
      }
    }
  }

  /// Names of rootfs and sandboxes: short, no path separators, no leading dot.
  public static func validateName(_ name: String, what: String) throws {
    let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
    guard !name.isEmpty, name.count <= 64, !name.hasPrefix("."), !name.hasPrefix("-"),
      name.allSatisfy({ allowed.contains($0) })
    else {
      throw HopsError.invalid(
        "invalid \(what) name '\(name)'",
        hint: "use 1 to 64 letters, digits, '.', '_' or '-', not starting with '.' or '-'")
    }
  }

  /// RFC 1123 host names: labels of letters, digits and '-', at most 63 characters.
  public static func validateHostname(_ name: String) throws {
    let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.")
    guard !name.isEmpty, name.count <= 63, name.allSatisfy({ allowed.contains($0) }),
      !name.hasPrefix("-"), !name.hasPrefix(".")
    else {
      throw HopsError.invalid(
        "invalid hostname '\(name)'", hint: "use up to 63 letters, digits, '-' and '.'")
    }
  }

  /// Parses `NAME=VALUE` as given to `--env`. A bare `NAME` is refused: unlike Docker,
  /// Hops never copies a variable from the caller's environment implicitly.
  public static func parseEnvironmentAssignment(_ text: String) throws -> (key: String, value: String) {
    guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
      throw HopsError.invalid("invalid --env '\(text)'", hint: "write NAME=VALUE")
    }
    return (String(text[..<eq]), String(text[text.index(after: eq)...]))
  }
}
