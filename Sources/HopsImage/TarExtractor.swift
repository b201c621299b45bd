import Glibc
import HopsCore
import HopsOS

/// Unpacks a tar archive into a directory, refusing anything that would land
/// outside it. Every path is opened relative to the target with openat2
/// RESOLVE_IN_ROOT, so absolute paths, ".." and symlinks planted by earlier
/// entries all stay inside; entries that name ".." are refused outright.
public struct TarExtractor {
  public struct Summary: Equatable, Sendable {
    public var entries = 0
    public var bytes = 0
    /// Device nodes and fifos are not created: a rootfs gets its /dev at run time.
    public var skippedSpecialFiles = 0
  }

  /// How `.wh.` entries (OCI whiteouts) are treated.
  public enum Whiteouts: Sendable {
    /// As ordinary files: a rootfs tarball has no layers to white out.
    case files
    /// Converted to overlayfs's form, for a layer used as a lower layer: `.wh.NAME`
    /// becomes a 0:0 character device NAME, `.wh..wh..opq` the opaque xattr on its
    /// directory.
    case overlay
  }

  public let whiteouts: Whiteouts

  public init(whiteouts: Whiteouts = .files) { self.whiteouts = whiteouts }

  public func extract(archive: String, into target: String) throws -> Summary {
    let reader = try TarReader(path: archive)
    let rootFD = try wrap("open", target) { try PathsInRoot.openRoot(target) }
    defer { FD.close(rootFD) }
    var summary = Summary()
    while let entry = try reader.next() {
      let components = try Self.components(of: entry.path, archive: archive)
      summary.entries += 1
      guard let name = components.last else { continue }  // "./" itself
      let parent = try wrap("create directory for", entry.path) {
        try PathsInRoot.makeDirectories(rootFD, Array(components.dropLast()))
      }
      defer { FD.close(parent) }
      let leaf = String(name)
      if whiteouts == .overlay && leaf.hasPrefix(".wh.") {
        try applyWhiteout(leaf, parent: parent, path: entry.path)
        continue
      }
      switch entry.kind {
      case .directory:
        try makeDirectory(parent, leaf, entry)
      case .file:
        try removeExisting(parent, leaf)
        let fd = try wrap("create", entry.path) {
          try syscall("openat", entry.path) { openat(parent, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600) }
        }
        defer { FD.close(fd) }
        try reader.readContents { chunk in
          try wrap("write", entry.path) { try FD.writeAll(fd, chunk) }
        }
        summary.bytes += entry.size
        try wrap("set owner and mode of", entry.path) {
          try syscall("fchown") { fchown(fd, entry.uid, entry.gid) }
          try syscall("fchmod") { fchmod(fd, entry.mode & 0o7777) }
        }
        setTimes(parent, leaf, entry.modificationTime)
      case .symlink:
        try removeExisting(parent, leaf)
        try wrap("create symlink", entry.path) {
          try syscall("symlinkat") { symlinkat(entry.linkTarget, parent, leaf) }
          try syscall("fchownat") { fchownat(parent, leaf, entry.uid, entry.gid, AT_SYMLINK_NOFOLLOW) }
        }
        setTimes(parent, leaf, entry.modificationTime)
      case .hardlink:
        let targetComponents = try Self.components(of: entry.linkTarget, archive: archive)
        guard let targetName = targetComponents.last else {
          throw HopsError.invalid("\(archive): hard link \(entry.path) points at the archive root")
        }
        let targetParent = try wrap("open", entry.linkTarget) {
          try PathsInRoot.openDirectory(rootFD, targetComponents.dropLast().joined(separator: "/"))
        }
        defer { FD.close(targetParent) }
        try removeExisting(parent, leaf)
        try wrap("create hard link", entry.path) {
          try syscall("linkat") { linkat(targetParent, String(targetName), parent, leaf, 0) }
        }
      case .characterDevice, .blockDevice, .fifo:
        summary.skippedSpecialFiles += 1
      }
    }
    return summary
  }

  private func applyWhiteout(_ leaf: String, parent: Int32, path: String) throws {
    if leaf == ".wh..wh..opq" {
      let fd = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
      guard fd >= 0 else { throw HopsError.failed("cannot open the directory of \(path): \(errnoString(errno))") }
      defer { FD.close(fd) }
      try wrap("mark opaque", path) { try OverlayMarkers.setOpaque(fd) }
      return
    }
    let hidden = String(leaf.dropFirst(4))
    guard !hidden.isEmpty, hidden != ".", hidden != ".." else {
      throw HopsError.invalid("invalid whiteout entry '\(path)'")
    }
    var info = stat()
    if fstatat(parent, hidden, &info, AT_SYMLINK_NOFOLLOW) == 0 {
      // One layer both adding and whiting out the same path is malformed.
      guard info.st_mode & S_IFMT != S_IFDIR else {
        throw HopsError.invalid("whiteout \(path) hides a directory of the same layer")
      }
      unlinkat(parent, hidden, 0)
    }
    try wrap("create whiteout", path) {
      try syscall("mknodat") { mknodat(parent, hidden, mode_t(S_IFCHR), 0) }
    }
  }

  /// The path's components inside the root; ".." anywhere is refused, because it
  /// can only mean an attempt to land outside.
  static func components(of path: String, archive: String) throws -> [Substring] {
    let parts = path.split(separator: "/").filter { $0 != "." }
    if parts.contains("..") || path.utf8.contains(0) {
      throw HopsError.invalid(
        "\(archive): entry '\(path)' would land outside the rootfs",
        hint: "the archive is unsafe; it was not imported")
    }
    return parts
  }

  private func makeDirectory(_ parent: Int32, _ name: String, _ entry: TarEntry) throws {
    var info = stat()
    if fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) == 0, info.st_mode & S_IFMT != S_IFDIR {
      try removeExisting(parent, name)
    }
    if mkdirat(parent, name, 0o755) != 0 && errno != EEXIST {
      throw HopsError.failed("cannot create directory \(entry.path): \(errnoString(errno))")
    }
    // Open with O_NOFOLLOW and change through the descriptor: never through a path
    // that a symlink could redirect.
    let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
    guard fd >= 0 else { throw HopsError.failed("cannot open directory \(entry.path): \(errnoString(errno))") }
    defer { FD.close(fd) }
    _ = fchown(fd, entry.uid, entry.gid)
    _ = fchmod(fd, entry.mode & 0o7777)
  }

  /// Later entries replace earlier ones, as tar does; a directory stays (its
  /// contents may come from several entries).
  private func removeExisting(_ parent: Int32, _ name: String) throws {
    var info = stat()
    guard fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return }
    if info.st_mode & S_IFMT == S_IFDIR {
      throw HopsError.invalid("cannot replace directory '\(name)' with a file")
    }
    if unlinkat(parent, name, 0) != 0 {
      throw HopsError.failed("cannot replace \(name): \(errnoString(errno))")
    }
  }

  private func setTimes(_ parent: Int32, _ name: String, _ mtime: Int) {
    var times = [timespec(tv_sec: mtime, tv_nsec: 0), timespec(tv_sec: mtime, tv_nsec: 0)]
    _ = utimensat(parent, name, &times, AT_SYMLINK_NOFOLLOW)
  }
}

/// Runs `body`, turning a SyscallError into a HopsError that names the entry.
func wrap<T>(_ action: String, _ what: String, _ body: () throws -> T) throws -> T {
  do { return try body() } catch let error as SyscallError {
    throw HopsError.failed("cannot \(action) \(what): \(errnoString(error.errno))")
  }
}
