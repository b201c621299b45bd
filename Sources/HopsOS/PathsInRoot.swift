import CHops
import CHops
import Glibc

/// Opening paths inside a directory tree as if it were "/": symlinks and ".."
/// are resolved within it (openat2 RESOLVE_IN_ROOT), so a hostile tree cannot
/// make us touch anything outside it.
public enum PathsInRoot {
  public static func open(_ rootFD: Int32, _ path: String, flags: Int32, mode: mode_t = 0) throws(SyscallError) -> Int32 {
    try syscall("openat2", path) { hops_open_in_root(rootFD, path, flags | O_CLOEXEC, UInt32(mode)) }
  }

  /// An Int32(HOPS_O_PATH) descriptor for a directory inside the root.
  public static func openDirectory(_ rootFD: Int32, _ path: String) throws(SyscallError) -> Int32 {
    try open(rootFD, path.isEmpty ? "." : path, flags: Int32(HOPS_O_PATH) | O_DIRECTORY)
  }

  /// mkdir -p inside the root; returns an Int32(HOPS_O_PATH) descriptor for the directory.
  public static func makeDirectories(_ rootFD: Int32, _ components: [Substring]) throws(SyscallError) -> Int32 {
    var parent = try openDirectory(rootFD, "")
    var prefix = ""
    for component in components {
      prefix += (prefix.isEmpty ? "" : "/") + component
      do {
        let next = try openDirectory(rootFD, prefix)
        FD.close(parent)
        parent = next
      } catch where error.errno == ENOENT {
        let name = String(component)
        do {
          try syscall("mkdirat", prefix) { mkdirat(parent, name, 0o755) }
        } catch where error.errno == EEXIST {}
        FD.close(parent)
        parent = try openDirectory(rootFD, prefix)
      } catch {
        FD.close(parent)
        throw error
      }
    }
    return parent
  }
}

extension PathsInRoot {
  /// An O_PATH descriptor for the root directory itself.
  public static func openRoot(_ path: String) throws(SyscallError) -> Int32 {
    try syscall("open", path) { Glibc.open(path, Int32(HOPS_O_PATH) | O_DIRECTORY | O_CLOEXEC) }
  }
}

/// O_PATH for callers that do not import CHops.
public let O_PATH_FLAG = HOPS_O_PATH

extension PathsInRoot {
  /// Creates an empty file at `components` inside the root if nothing is there
  /// (parents too) and returns an O_PATH descriptor for it. The last component is
  /// opened with O_NOFOLLOW: a symlink there is refused, not followed.
  public static func makeFile(_ rootFD: Int32, _ components: [Substring]) throws(SyscallError) -> Int32 {
    guard let name = components.last.map(String.init) else { throw SyscallError("open", errno: EISDIR, detail: "/") }
    let parent = try makeDirectories(rootFD, Array(components.dropLast()))
    defer { FD.close(parent) }
    let created = openat(parent, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o644)
    if created >= 0 {
      FD.close(created)
    } else if errno != EISDIR && errno != EEXIST {
      throw SyscallError("open", errno: errno, detail: components.joined(separator: "/"))
    }
    return try syscall("open", components.joined(separator: "/")) {
      openat(parent, name, Int32(HOPS_O_PATH) | O_NOFOLLOW | O_CLOEXEC)
    }
  }
}
