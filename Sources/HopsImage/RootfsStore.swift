import FoundationEssentials
import Glibc
import HopsCore
import HopsOS

/// Named root filesystems under `$HOPS_HOME/images/rootfs/<name>/`: the tree in
/// `rootfs/` and its record in `info.json`. A rootfs is built in a temporary
/// directory and renamed into place, so a failed or interrupted import never
/// leaves a half-made rootfs under its name. Sandboxes never write to it: each
/// one has its own overlay upper layer.
public struct RootfsStore: Sendable {
  public let home: HopsHome

  public init(home: HopsHome) { self.home = home }

  public enum Source: Sendable, Equatable {
    case tarball(String)
    case directory(String)
    case busybox(String)
  }

  public func info(named name: String) throws -> RootfsInfo {
    let file = home.rootfs(named: name) + "/info.json"
    guard let data = FileManager.default.contents(atPath: file) else {
      throw HopsError.notFound(
        "no rootfs named '\(name)'", hint: "see 'hops rootfs list', or create it with 'hops rootfs create \(name) --from PATH'")
    }
    do { return try JSONDecoder().decode(RootfsInfo.self, from: data) } catch {
      throw HopsError.failed("the record of rootfs '\(name)' is damaged (\(file))", hint: "remove it with 'hops rootfs rm \(name)'")
    }
  }

  public func exists(_ name: String) -> Bool {
    FileManager.default.fileExists(atPath: home.rootfs(named: name) + "/info.json")
  }

  public func list() -> [RootfsInfo] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: home.rootfsDir)) ?? []
    return names.filter { !$0.hasPrefix(".") }.sorted().compactMap { try? info(named: $0) }
  }

  /// Builds a rootfs from `source` and records it as `name`.
  @discardableResult
  public func create(name: String, from source: Source, replace: Bool = false) throws -> RootfsInfo {
    if exists(name) && !replace {
      throw HopsError(.alreadyExists, "a rootfs named '\(name)' already exists", hint: "remove it first with 'hops rootfs rm \(name)' or pass --replace")
    }
    try makeDirectory(home.rootfsDir)
    let staging = home.rootfsDir + "/.staging-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let tree = staging + "/rootfs"
    try makeDirectory(staging)
    try makeDirectory(tree)
    do {
      let description: String
      switch source {
      case .tarball(let path):
        _ = try TarExtractor().extract(archive: path, into: tree)
        description = path
      case .directory(let path):
        try copyDirectory(path, into: tree)
        description = path
      case .busybox(let path):
        try BusyboxRootfs(busybox: path).build(into: tree)
        description = "busybox:\(path)"
      }
      // A sandbox's command starts in /workspace; make sure every rootfs has it.
      try makeDirectory(tree + "/workspace")
      let info = RootfsInfo(
        name: name, path: home.rootfs(named: name) + "/rootfs", source: description,
        createdAt: Date().timeIntervalSince1970, sizeBytes: Self.diskUsage(tree))
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
      try encoder.encode(info).write(to: URL(fileURLWithPath: staging + "/info.json"))
      if exists(name) { try remove(name) }
      try? FileManager.default.removeItem(atPath: home.rootfs(named: name))
      guard rename(staging, home.rootfs(named: name)) == 0 else {
        throw HopsError.failed("cannot move the new rootfs into place: \(errnoString(errno))")
      }
      return info
    } catch {
      try? FileManager.default.removeItem(atPath: staging)
      throw error
    }
  }

  /// Removes a rootfs. Sandboxes running on it keep their view until they end.
  public func remove(_ name: String) throws {
    _ = try info(named: name)
    let trash = home.rootfsDir + "/.removing-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    guard rename(home.rootfs(named: name), trash) == 0 else {
      throw HopsError.failed("cannot remove rootfs '\(name)': \(errnoString(errno))")
    }
    try? FileManager.default.removeItem(atPath: trash)
  }

  /// Leftovers of interrupted creates and removes, cleared at daemon start.
  public func removeLeftovers() {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: home.rootfsDir)) ?? []
    for name in names where name.hasPrefix(".staging-") || name.hasPrefix(".removing-") {
      try? FileManager.default.removeItem(atPath: home.rootfsDir + "/" + name)
    }
  }

  private func copyDirectory(_ source: String, into target: String) throws {
    var info = stat()
    guard stat(source, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
      throw HopsError.notFound("\(source) is not a directory")
    }
    // cp -a keeps owners, modes, links, times and xattrs; it never follows
    // symlinks inside the tree.
    let result: (status: Int32, output: String)
    do { result = try Subprocess.run("/bin/cp", ["-a", "--", source + "/.", target]) } catch {
      throw HopsError.failed("cannot run cp: \(error)")
    }
    guard result.status == 0 else {
      throw HopsError.failed("copying \(source) failed: \(result.output.trimmed)")
    }
  }

  private func makeDirectory(_ path: String) throws {
    if mkdir(path, 0o700) != 0 && errno != EEXIST {
      throw HopsError.failed("cannot create \(path): \(errnoString(errno))")
    }
  }

  /// Bytes of regular files in the tree (hard links counted once).
  static func diskUsage(_ path: String) -> UInt64 {
    var total: UInt64 = 0
    var seen = Set<UInt64>()
    guard let paths = try? FileManager.default.subpathsOfDirectory(atPath: path) else { return 0 }
    for relative in paths {
      var info = stat()
      guard lstat(path + "/" + relative, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
      if info.st_nlink > 1 && !seen.insert(UInt64(info.st_ino)).inserted { continue }
      total += UInt64(info.st_blocks) * 512
    }
    return total
  }
}
