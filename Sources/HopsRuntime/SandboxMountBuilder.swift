import Glibc
import HopsCore
import HopsInit
import HopsOS

/// The mounts of a sandbox in a user namespace, built by the daemon as detached
/// mounts and passed to hops-init, which attaches them.
///
/// Host directories (image layers, the workspace, allowed paths) are idmapped
/// through the sandbox's user namespace: a file the host's root owns is owned
/// by the sandbox's root inside, and what the sandbox's root writes there is
/// owned by the host's root, as without a user namespace. A file system that
/// cannot be idmapped is shown without: its files then belong to nobody inside
/// (readable as the permissions allow, not writable by the sandbox's root).
/// Overlays are made here too, in the host's user namespace, so they keep
/// reading the layers' trusted.overlay xattrs (opaque directories).
final class SandboxMountBuilder {
  /// The sandbox's user namespace (/proc/<hops-init>/ns/user); -1 once closed.
  private var userNamespace: Int32
  /// The host id of the sandbox's root: owner of the writable upper layers.
  let rootID: UInt32
  private(set) var descriptors: [Int32] = []

  /// For the sandbox whose hops-init is `initPid` (in its user namespace).
  init(initPid: pid_t, rootID: UInt32) throws(SyscallError) {
    let path = "/proc/\(initPid)/ns/user"
    userNamespace = try syscall("open", path) { open(path, O_RDONLY | O_CLOEXEC) }
    self.rootID = rootID
  }

  /// Closes the mounts built and the user namespace; the builder is done.
  func closeAll() {
    descriptors.forEach(FD.close)
    descriptors = []
    if userNamespace >= 0 { FD.close(userNamespace) }
    userNamespace = -1
  }

  /// The sandbox's root: the layers below, its directory's upper and work on top.
  func root(lowers: [String], sandboxDirectory directory: String) throws -> Int {
    try root(lowers: lowers, upper: directory + "/upper", work: directory + "/work")
  }

  private func keep(_ fd: Int32) -> Int {
    descriptors.append(fd)
    return descriptors.count - 1
  }

  /// A detached, idmapped copy of a host tree (or file), opened without
  /// following any symlink in its path (HostPaths).
  func idmapped(_ path: String, attributes: DetachedMounts.Attributes) throws -> Int32 {
    let named = try HostPaths.open(path)
    defer { FD.close(named) }
    let fd = try DetachedMounts.clone(descriptor: named)
    do {
      try DetachedMounts.configure(fd, attributes: attributes, userNamespace: userNamespace)
    } catch where [EINVAL, EPERM, EOPNOTSUPP].contains(error.errno) {
      // This file system cannot be idmapped: shown as it is (the documented fallback).
      do { try DetachedMounts.configure(fd, attributes: attributes, userNamespace: nil) } catch {
        FD.close(fd)
        throw error
      }
    } catch {
      FD.close(fd)
      throw error
    }
    return fd
  }

  /// An overlay of idmapped `lowers` (top first) with a writable layer owned by
  /// the sandbox's root.
  func overlay(lowers: [String], upper: String, work: String, attributes: DetachedMounts.Attributes) throws -> Int32 {
    guard chown(upper, rootID, rootID) == 0 else {
      throw HopsError.failed("cannot hand \(upper) to the sandbox's root: \(errnoString(errno))")
    }
    var layers: [Int32] = []
    defer { layers.forEach(FD.close) }
    for lower in lowers { layers.append(try idmapped(lower, attributes: [])) }
    return try DetachedMounts.overlay(
      lower: layers.map(DetachedMounts.path(of:)), upper: upper, work: work, attributes: attributes)
  }

  /// The root overlay; its index.
  func root(lowers: [String], upper: String, work: String) throws -> Int {
    keep(try overlay(lowers: lowers, upper: upper, work: work, attributes: [.noSuid, .noDev]))
  }

  /// A bind or overlay plan mount, built; tmpfs ones stay hops-init's to make.
  func build(_ mount: PlanMount) throws -> PlanMount {
    var attributes: DetachedMounts.Attributes = [.noSuid, .noDev]
    if mount.readOnly { attributes.insert(.readOnly) }
    if mount.noExec { attributes.insert(.noExec) }
    var built = mount
    switch mount.kind {
    case .tmpfs:
      return mount
    case .bind:
      var info = stat()
      guard stat(mount.source, &info) == 0 else {
        throw HopsError.notFound("\(mount.source), to be shown at \(mount.destination), does not exist (\(errnoString(errno)))")
      }
      built.sourceIsDirectory = info.st_mode & S_IFMT == S_IFDIR
      built.descriptor = keep(try idmapped(mount.source, attributes: attributes))
    case .overlay:
      built.descriptor = keep(try overlay(lowers: [mount.source], upper: mount.upperDir, work: mount.workDir, attributes: attributes))
    }
    return built
  }
}
