import Glibc

/// Finds the program to execute the way a shell does, inside the sandbox's root,
/// so that "not found" and "not executable" become exit codes 127 and 126 with a
/// message that names the command, instead of a bare errno from execve.
public enum CommandResolver {
  public enum Outcome: Equatable {
    case found(String)
    case notFound(String)
    case notExecutable(String)
  }

  /// `fileExists` and `isExecutable` are injected so unit tests need no filesystem.
  public static func resolve(
    _ command: String, path: String,
    kind: (String) -> FileKind = CommandResolver.fileKind
  ) -> Outcome {
    if command.contains("/") {
      switch kind(command) {
      case .missing: return .notFound("\(command): no such file or directory")
      case .directory: return .notExecutable("\(command): is a directory")
      case .notExecutable: return .notExecutable("\(command): permission denied (not executable)")
      case .executable: return .found(command)
      }
    }
    var sawNotExecutable: String?
    for dir in path.split(separator: ":", omittingEmptySubsequences: false) {
      let base = dir.isEmpty ? "." : String(dir)
      let candidate = base.hasSuffix("/") ? base + command : base + "/" + command
      switch kind(candidate) {
      case .executable: return .found(candidate)
      case .notExecutable: sawNotExecutable = sawNotExecutable ?? candidate
      case .missing, .directory: continue
      }
    }
    if let candidate = sawNotExecutable {
      return .notExecutable("\(candidate): permission denied (not executable)")
    }
    return .notFound("\(command): command not found (searched PATH=\(path))")
  }

  public enum FileKind { case missing, directory, notExecutable, executable }

  public static func fileKind(_ path: String) -> FileKind {
    var info = stat()
    guard stat(path, &info) == 0 else { return .missing }
    if info.st_mode & S_IFMT == S_IFDIR { return .directory }
    return access(path, X_OK) == 0 ? .executable : .notExecutable
  }
}
