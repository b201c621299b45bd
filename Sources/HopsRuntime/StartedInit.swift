import Glibc
import HopsCore
import HopsOS

/// A hops-init that has been started in a sandbox's fresh namespaces and is
/// waiting on its control socket for the launch plan: the part of a launch
/// that does not depend on the request, so it can be done ahead of time
/// (WarmPool) or on the spot.
///
/// It owns the daemon's ends of the command's streams and of the control
/// socket, the user id range of its namespace and its cgroup, until a launch
/// takes them over or `discard()` gives them back.
public final class StartedInit: @unchecked Sendable {
  /// The sandbox id it was started for: its cgroup and directory carry it.
  public let id: String
  /// Where its directory is (`sandboxes/<id>`), if it has one: only a
  /// sandbox that needs one (`makeDirectory`) gets it. A run thrown away at
  /// its exit, its layers in memory, writes nothing to disk; its cgroup's
  /// mark says whose it is (SandboxCgroup.ownerAttributes).
  let directory: String
  private(set) var hasDirectory = false
  let pid: pid_t
  /// The daemon's end of the control socket.
  let control: Int32
  /// The daemon's ends of the command's stdin, stdout and stderr; nil when
  /// hops-init got /dev/null (a sandbox without a command).
  let streams: (stdin: Int32, stdout: Int32, stderr: Int32)?
  let ids: UserIDRange?
  let cgroup: SandboxCgroup?
  /// Whether hops-init is in its cgroup already (a warm one is; a cold launch
  /// moves it while hops-init builds the filesystem).
  var inCgroup: Bool
  /// The root a warm one has in place already (see SandboxLauncher.prepare):
  /// it can serve only a sandbox on that very rootfs.
  var preparedRoot: PreparedRoot?
  /// The tmpfs its prepared root's writable layer is in (a mount of it; -1
  /// without one), and the size it was made with: a launch resizes it for
  /// its sandbox's memory limit, and makes its other layers there too.
  var memoryLayers: Int32 = -1
  var memoryLayerBytes: UInt64 = 0

  init(
    id: String, directory: String, hasDirectory: Bool, pid: pid_t, control: Int32, streams: (stdin: Int32, stdout: Int32, stderr: Int32)?,
    ids: UserIDRange?, cgroup: SandboxCgroup?, inCgroup: Bool
  ) {
    self.id = id
    self.directory = directory
    self.hasDirectory = hasDirectory
    self.pid = pid
    self.control = control
    self.streams = streams
    self.ids = ids
    self.cgroup = cgroup
    self.inCgroup = inCgroup
  }

  /// Makes its directory, once (see SandboxDirectory.create).
  func makeDirectory(rootMountPoint: Bool, home: HopsHome) throws {
    guard !hasDirectory else { return }
    try SandboxDirectory.create(directory, rootMountPoint: rootMountPoint, home: home)
    hasDirectory = true
  }

  /// Removes its directory, if it has one.
  func removeDirectory() {
    guard hasDirectory else { return }
    SandboxDirectory.remove(directory)
    hasDirectory = false
  }

  /// Still waiting for its plan: a warm hops-init sends nothing before one,
  /// so anything to read (or a hang-up) on its control socket means it died.
  var isAlive: Bool {
    var entry = pollfd(fd: control, events: Int16(POLLIN), revents: 0)
    return poll(&entry, 1, 0) == 0
  }

  var descriptors: [Int32] {
    [control] + (streams.map { [$0.stdin, $0.stdout, $0.stderr] } ?? [])
  }

  /// Ends it and removes what it held: its process, cgroup and directory. Its
  /// user id range is released when the last reference goes.
  public func discard() {
    descriptors.forEach(FD.close)
    if memoryLayers >= 0 { FD.close(memoryLayers) }
    Glibc.kill(pid, SIGKILL)
    _ = try? Spawn.wait(pid)
    cgroup?.remove()
    removeDirectory()
  }
}

/// A sandbox's directory on the host: its record and, for a sandbox that
/// stays after its run (kept, detached, created), the overlay's upper and work
/// directories (what it wrote). A run thrown away at its exit has them in
/// memory instead, and no record here (SandboxMountBuilder's `Layers`).
/// Without user namespaces the directory also holds the mount point of its
/// root (hops-init then mounts the overlays itself, by path, so their layers
/// are always here).
enum SandboxDirectory {
  /// Makes it, empty; with `rootMountPoint` (no user namespace) also the root
  /// overlay's upper and work directories and its mount point. The home's
  /// directories are made at the daemon's start; again here only if
  /// something removed them since.
  static func create(_ directory: String, rootMountPoint: Bool, home: HopsHome) throws {
    do {
      try create(directory, rootMountPoint: rootMountPoint)
    } catch {
      try HomeSetup.ensureDirectories(home)
      try create(directory, rootMountPoint: rootMountPoint)
    }
  }

  private static func create(_ directory: String, rootMountPoint: Bool) throws {
    guard mkdir(directory, 0o700) == 0 else {
      throw HopsError.failed("cannot create \(directory): \(errnoString(errno))")
    }
    guard rootMountPoint else { return }
    do {
      _ = try makeLayer(in: directory)
      guard mkdir(directory + "/rootfs", 0o700) == 0 else {
        throw HopsError.failed("cannot create \(directory)/rootfs: \(errnoString(errno))")
      }
    } catch {
      remove(directory)
      throw error
    }
  }

  /// A layer's upper and work directories on disk: the root's in the
  /// directory itself, the `overlay`-th other overlay's (a workspace in
  /// overlay mode, a profile's overlay mount) in `mounts/<overlay>`. The upper
  /// one becomes a "/" or a mount's root, which must be traversable.
  static func makeLayer(in directory: String, overlay: Int? = nil) throws -> (upper: String, work: String) {
    var base = directory
    if let overlay {
      base = directory + "/mounts/\(overlay)"
      for path in [directory + "/mounts", base] where mkdir(path, 0o700) != 0 && errno != EEXIST {
        throw HopsError.failed("cannot create \(path): \(errnoString(errno))")
      }
    }
    let (upper, work) = (base + "/upper", base + "/work")
    for path in [upper, work] where mkdir(path, 0o700) != 0 {
      throw HopsError.failed("cannot create \(path): \(errnoString(errno))")
    }
    chmod(upper, 0o755)
    return (upper, work)
  }

  static func remove(_ directory: String) {
    try? FileTree.remove(directory)
  }
}

/// Which rootfs a warm hops-init's prepared root stands on: its lower
/// directories, and which directories those were (device and inode), so a
/// rootfs replaced since (`hops init` again, a new image of the same name) is
/// not served from the old one.
struct PreparedRoot: Equatable {
  let lowers: [String]
  let identities: [String]

  init?(lowers: [String]) {
    var identities: [String] = []
    for lower in lowers {
      var info = stat()
      guard stat(lower, &info) == 0 else { return nil }
      identities.append("\(info.st_dev):\(info.st_ino)")
    }
    self.lowers = lowers
    self.identities = identities
  }
}
