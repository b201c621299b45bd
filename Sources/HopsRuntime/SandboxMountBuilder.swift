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
  /// Where the writable layers (each overlay's upper and work directories) go.
  enum Layers {
    /// A tmpfs of the sandbox's own, of at most `sizeBytes` (see
    /// SandboxLauncher.memoryLayerBytes), for a sandbox thrown away at its
    /// exit: what it writes is charged to its memory cgroup, is not written
    /// to the host's disk, and goes at once with the last mount of it when
    /// the sandbox ends. No directory is made or removed on the host's file
    /// system, whose inode allocation was a fifth of a sandbox's CPU time on
    /// this machine's ext4 (see docs/design-notes.md).
    case memory(sizeBytes: UInt64)
    /// The sandbox's directory, for one that stays (kept, detached, created):
    /// its layers can be looked at after its end and outlive the daemon.
    case disk(directory: String)
  }
  let layers: Layers
  /// The detached tmpfs of `.memory` layers, made with the first of them; -1 before.
  private var memory: Int32 = -1
  /// Layers made so far (the root's is the first), which names the next.
  private var layersMade = 0
  /// The sandbox's user namespace (/proc/<hops-init>/ns/user); -1 once closed.
  private var userNamespace: Int32
  /// The host id of the sandbox's root: owner of the writable upper layers.
  let rootID: UInt32
  private(set) var descriptors: [Int32] = []
  /// Indices into `descriptors` of the mounts the overlays were built from:
  /// their idmapped lower layers (read-only) and, handed over, the tmpfs of
  /// `.memory` layers. The overlays hold private copies of them, so these
  /// are of no more use, but closing one while it is detached unmounts it on
  /// its own, and every unmount waits for an expedited RCU grace period:
  /// IPIs to every CPU, a kernel thread and two sleeps, 3-5% of the time of
  /// 50 sandboxes 10 at a time here. hops-init attaches them beneath the
  /// sandbox's root instead (LaunchPlan.spareDescriptors), and they go with
  /// the old root in the unmount at its pivot, which waits for one anyway.
  private(set) var spares: [Int] = []

  /// For the sandbox whose hops-init is `initPid` (in its user namespace).
  init(initPid: pid_t, rootID: UInt32, layers: Layers) throws(SyscallError) {
    let path = "/proc/\(initPid)/ns/user"
    userNamespace = try syscall("open", path) { open(path, O_RDONLY | O_CLOEXEC) }
    self.rootID = rootID
    self.layers = layers
  }

  /// Closes the mounts built and the user namespace; the builder is done.
  func closeAll() {
    descriptors.forEach(FD.close)
    descriptors = []
    if userNamespace >= 0 { FD.close(userNamespace) }
    userNamespace = -1
    // The overlays built on it hold it: they keep it, not this descriptor.
    if memory >= 0 { FD.close(memory) }
    memory = -1
  }

  /// The descriptor of the tmpfs of `.memory` layers (-1 if none was made),
  /// now the caller's: a warm one keeps it, to resize it for its sandbox.
  func takeMemoryLayers() -> Int32 {
    defer { memory = -1 }
    return memory
  }

  /// Takes over a warm one's tmpfs, which holds its prepared root's layer,
  /// resized to this builder's size: the sandbox's other layers go in it too.
  /// The builder owns `fd` now.
  func adoptMemoryLayers(_ fd: Int32, sizeBytes current: UInt64) throws(SyscallError) {
    memory = fd
    layersMade = 1
    if case .memory(let sizeBytes) = layers, sizeBytes != current {
      try DetachedMounts.resizeTmpfs(fd, sizeBytes: sizeBytes)
    }
  }

  /// The sandbox's root (its index): the layers below, a writable layer on top.
  func root(lowers: [String]) throws -> Int {
    let (upper, work) = try nextLayer()
    return keep(try overlay(lowers: lowers, upper: upper, work: work, attributes: [.noSuid, .noDev]))
  }

  /// A fresh upper and work directory: the first is the root's. In memory,
  /// they are named by a path through this process's descriptor of the
  /// tmpfs (overlayfs takes such a path, as it does for the lower layers).
  private func nextLayer() throws -> (upper: String, work: String) {
    layersMade += 1
    switch layers {
    case .disk(let directory):
      return try SandboxDirectory.makeLayer(in: directory, overlay: layersMade == 1 ? nil : layersMade - 1)
    case .memory(let sizeBytes):
      if memory < 0 { memory = try DetachedMounts.tmpfs(attributes: [.noSuid, .noDev], sizeBytes: sizeBytes) }
      let name = "\(layersMade)"
      for path in [name, name + "/upper", name + "/work"] {
        try syscall("mkdirat", path) { mkdirat(memory, path, 0o700) }
      }
      try syscall("fchmodat", name + "/upper") { fchmodat(memory, name + "/upper", 0o755, 0) }
      let base = DetachedMounts.path(of: memory) + "/" + name
      return (base + "/upper", base + "/work")
    }
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
    do {
      // Read-only: an overlay never writes its lower layers, and these go on
      // to hops-init as spares.
      for lower in lowers { layers.append(try idmapped(lower, attributes: [.readOnly])) }
      let overlay = try DetachedMounts.overlay(
        lower: layers.map(DetachedMounts.path(of:)), upper: upper, work: work, attributes: attributes)
      for layer in layers { spares.append(keep(layer)) }
      return overlay
    } catch {
      layers.forEach(FD.close)
      throw error
    }
  }

  /// Makes the tmpfs of `.memory` layers a spare, to go to hops-init with the
  /// plan: once every layer is made, as no overlay can be built on it from
  /// here after hops-init attached it (the kernel clones a layer only from
  /// the caller's own mount namespace or a detached one).
  func handOverMemoryLayers() {
    guard memory >= 0 else { return }
    spares.append(keep(memory))
    memory = -1
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
      let (upper, work) = try nextLayer()
      built.descriptor = keep(try overlay(lowers: [mount.source], upper: upper, work: work, attributes: attributes))
    }
    return built
  }
}
