import HopsCore

/// `filesystem = ["read", "write", "execute"]`: what the sandbox may do with the
/// host paths it is given (the workspace and `allowed_paths`). Without `read` they
/// are not shown at all; without `write` they are read-only; without `execute`
/// they are mounted noexec.
public struct FilesystemAccess: OptionSet, Sendable, Hashable {
  public let rawValue: Int
  public init(rawValue: Int) { self.rawValue = rawValue }

  public static let read = FilesystemAccess(rawValue: 1)
  public static let write = FilesystemAccess(rawValue: 2)
  public static let execute = FilesystemAccess(rawValue: 4)
  public static let all: FilesystemAccess = [.read, .write, .execute]

  public static let names: [(String, FilesystemAccess)] = [("read", .read), ("write", .write), ("execute", .execute)]

  public var names: [String] { Self.names.filter { contains($0.1) }.map(\.0) }

  public static func parse(_ name: String) -> FilesystemAccess? {
    names.first { $0.0 == name.lowercased() }?.1
  }
}

/// How the workspace is shown at /workspace.
public enum WorkspaceMode: String, Sendable, CaseIterable, Codable {
  /// The host directory, read-write: changes land on the host.
  case rw
  /// The host directory, read-only.
  case ro
  /// Copy-on-write: the command writes freely, the host directory stays untouched.
  case overlay

  public static func parse(_ text: String) throws -> WorkspaceMode {
    guard let mode = WorkspaceMode(rawValue: text.lowercased()) else {
      throw HopsError.invalid("unknown workspace mode '\(text)'", hint: "use one of: rw, ro, overlay")
    }
    return mode
  }
}
