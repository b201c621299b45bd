import CHops
import Glibc

/// Mounts made outside the sandbox and handed to it as descriptors (the new
/// mount API: open_tree, mount_setattr, fsopen/fsmount, move_mount).
///
/// In a user namespace, hops-init cannot idmap host directories or mount an
/// overlay that reads trusted xattrs; the daemon can. It builds those mounts
/// detached, and hops-init attaches them inside with `attach`.
public enum DetachedMounts {
  public struct Attributes: OptionSet, Sendable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static let readOnly = Attributes(rawValue: HOPS_MOUNT_ATTR_RDONLY)
    public static let noSuid = Attributes(rawValue: HOPS_MOUNT_ATTR_NOSUID)
    public static let noDev = Attributes(rawValue: HOPS_MOUNT_ATTR_NODEV)
    public static let noExec = Attributes(rawValue: HOPS_MOUNT_ATTR_NOEXEC)
  }

  /// A detached copy of the tree at `path` (with the mounts below it).
  public static func clone(_ path: String) throws(SyscallError) -> Int32 {
    let fd = hops_open_tree(path, 1)
    if fd < 0 { throw SyscallError("open_tree", errno: -fd, detail: path) }
    return fd
  }

  /// Sets flags on a detached tree and, with `userNamespace`, idmaps it: files
  /// owned by host id N appear owned by whatever N maps to in that namespace.
  public static func configure(_ fd: Int32, attributes: Attributes, userNamespace: Int32?) throws(SyscallError) {
    let result = hops_mount_setattr(fd, 1, attributes.rawValue, 0, userNamespace ?? -1)
    if result < 0 { throw SyscallError("mount_setattr", errno: -result, detail: userNamespace == nil ? "flags" : "idmap") }
  }

  /// A detached overlay. Layers are paths; "/proc/self/fd/N" names a detached tree.
  public static func overlay(lower: [String], upper: String?, work: String?, attributes: Attributes) throws(SyscallError) -> Int32 {
    var message = [CChar](repeating: 0, count: 256)
    let fd = hops_overlay_mount(lower.joined(separator: ":"), upper, work, attributes.rawValue, &message, message.count)
    if fd < 0 {
      let reason = CText.string(message)
      throw SyscallError("overlay", errno: -fd, detail: reason.isEmpty ? "fsmount" : reason)
    }
    return fd
  }

  /// A detached, empty tmpfs (its root mode 0700) of at most `sizeBytes`.
  /// Its memory is charged to whoever writes into it, and freed when the last
  /// mount of it goes.
  public static func tmpfs(attributes: Attributes, sizeBytes: UInt64) throws(SyscallError) -> Int32 {
    let fd = hops_tmpfs_mount(attributes.rawValue, sizeBytes)
    if fd < 0 { throw SyscallError("fsmount", errno: -fd, detail: "tmpfs") }
    return fd
  }

  /// Gives the tmpfs that `fd` (a mount of it) is a new size.
  public static func resizeTmpfs(_ fd: Int32, sizeBytes: UInt64) throws(SyscallError) {
    let result = hops_tmpfs_resize(fd, sizeBytes)
    if result < 0 { throw SyscallError("fsconfig", errno: -result, detail: "tmpfs size") }
  }

  /// Attaches a detached mount onto the directory (or file) at `target`, whose
  /// last component must not be a symlink.
  public static func attach(_ fd: Int32, at target: String) throws(SyscallError) {
    let result = hops_move_mount(fd, AT_FDCWD, target)
    if result < 0 { throw SyscallError("move_mount", errno: -result, detail: target) }
  }

  /// Attaches a detached mount onto what the descriptor `target` names.
  public static func attach(_ fd: Int32, onto target: Int32) throws(SyscallError) {
    let result = hops_move_mount(fd, target, "")
    if result < 0 { throw SyscallError("move_mount", errno: -result, detail: path(of: target)) }
  }

  /// The path by which this process names a descriptor's file.
  public static func path(of fd: Int32) -> String { "/proc/self/fd/\(fd)" }
}
