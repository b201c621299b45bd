import CHops
import Glibc

/// Host paths a sandbox is given (the workspace, allowed paths, bind sources)
/// are taken as they are named, never through a symlink: a link that someone
/// (a sandbox, say, through a shared directory) planted in such a path must not
/// turn it into another host directory. The path is opened once, with
/// RESOLVE_NO_SYMLINKS, and used through that descriptor.
public enum HostPaths {
  /// An O_PATH descriptor of `path`; fails with ELOOP if any component is a symlink.
  public static func open(_ path: String) throws(SyscallError) -> Int32 {
    let fd = hops_open_no_symlinks(path, Int32(HOPS_O_PATH) | O_CLOEXEC)
    if fd < 0 {
      let code = errno
      throw SyscallError("open", errno: code, detail: code == ELOOP ? "\(path) goes through a symlink" : path)
    }
    return fd
  }

  /// Whether `path` is a directory reached without any symlink: one openat2,
  /// where a walk would lstat every component.
  public static func isDirectoryWithoutSymlinks(_ path: String) -> Bool {
    let fd = hops_open_no_symlinks(path, Int32(HOPS_O_PATH) | O_DIRECTORY | O_CLOEXEC)
    FD.close(fd)
    return fd >= 0
  }

  /// Checks that `path` exists and has no symlink in it.
  public static func check(_ path: String) throws(SyscallError) {
    FD.close(try open(path))
  }
}

extension DetachedMounts {
  /// A detached copy of the tree a descriptor names (see HostPaths.open).
  public static func clone(descriptor fd: Int32) throws(SyscallError) -> Int32 {
    let tree = hops_open_tree_fd(fd, 1)
    if tree < 0 { throw SyscallError("open_tree", errno: -tree, detail: path(of: fd)) }
    return tree
  }
}
