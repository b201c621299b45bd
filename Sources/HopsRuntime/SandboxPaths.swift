import Glibc
import HopsCore
import HopsOS

/// Paths inside a running sandbox for `hops cp`, resolved from its root with
/// openat2 RESOLVE_IN_ROOT: symlinks and ".." stay inside the sandbox, whatever
/// its processes made of them, and magic links (/proc/N/root) are refused.
public enum SandboxPaths {
  /// An absolute path inside the sandbox; a relative one is taken from `base`.
  static func absolute(_ path: String, base: String) throws -> String {
    guard !path.isEmpty else { throw HopsError.invalid("no path given inside the sandbox") }
    guard !path.utf8.contains(0), path.utf8.count < 4096 else { throw HopsError.invalid("the path inside the sandbox is not a usable path") }
    return path.hasPrefix("/") ? path : (base.hasSuffix("/") ? base : base + "/") + path
  }

  static func split(_ path: String) -> (parent: String, name: String) {
    let trimmed = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    guard let slash = trimmed.lastIndex(of: "/") else { return (".", trimmed) }
    let parent = String(trimmed[..<slash])
    return (parent.isEmpty ? "/" : parent, String(trimmed[trimmed.index(after: slash)...]))
  }

  /// Where a tree called `name` lands for the destination `path`: inside it
  /// when it is a directory, else at it (its parent must exist). Returns an
  /// O_PATH descriptor of the directory, the name, and the path shown to users.
  public static func destination(root: Int32, path raw: String, base: String, name: String) throws -> (parent: Int32, name: String, shown: String) {
    let path = try absolute(raw, base: base)
    if let directory = try? PathsInRoot.open(root, path, flags: Int32(O_PATH_FLAG) | O_DIRECTORY) {
      return (directory, name, (path.hasSuffix("/") ? path : path + "/") + name)
    }
    if path.hasSuffix("/") {
      throw HopsError.notFound("no directory \(path) in the sandbox", hint: "create it first, or name the file to write")
    }
    let (parent, leaf) = split(path)
    guard leaf != "." && leaf != ".." else { throw HopsError.invalid("'\(raw)' does not name a file") }
    do {
      let directory = try PathsInRoot.open(root, parent, flags: Int32(O_PATH_FLAG) | O_DIRECTORY)
      return (directory, leaf, path)
    } catch {
      throw HopsError.notFound("no directory \(parent) in the sandbox (\(errnoString(error.errno)))")
    }
  }

  /// The directory holding `path` and its last component, which is not followed
  /// if it is a symlink (the link is copied, as `cp -P` does).
  public static func source(root: Int32, path raw: String, base: String) throws -> (parent: Int32, name: String) {
    let path = try absolute(raw, base: base)
    let (parent, leaf) = split(path)
    guard !leaf.isEmpty, leaf != ".", leaf != ".." else {
      throw HopsError.invalid("'\(raw)' does not name a file or directory below /", hint: "name what to copy, e.g. dev:/tmp/out")
    }
    let directory: Int32
    do {
      directory = try PathsInRoot.open(root, parent, flags: Int32(O_PATH_FLAG) | O_DIRECTORY)
    } catch {
      throw HopsError.notFound("no directory \(parent) in the sandbox (\(errnoString(error.errno)))")
    }
    var info = stat()
    guard fstatat(directory, leaf, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
      FD.close(directory)
      throw HopsError.notFound("no \(path) in the sandbox")
    }
    return (directory, leaf)
  }
}
