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
