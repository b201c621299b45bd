import Glibc

/// Bytes a directory tree takes on disk (allocated blocks, hard links counted
/// once per walk), without following symlinks or crossing into mounts.
public enum DiskUsage {
  public static func bytes(of path: String) -> UInt64 {
    var seen = Set<UInt64>()
    return walk(path, device: nil, seen: &seen)
  }

  private static func walk(_ path: String, device: UInt64?, seen: inout Set<UInt64>) -> UInt64 {
    var info = stat()
    guard lstat(path, &info) == 0 else { return 0 }
    if let device, UInt64(info.st_dev) != device { return 0 }
    if info.st_nlink > 1 && info.st_mode & S_IFMT != S_IFDIR {
      guard seen.insert(UInt64(info.st_ino)).inserted else { return 0 }
    }
    var total = UInt64(info.st_blocks) * 512
    guard info.st_mode & S_IFMT == S_IFDIR, let dir = opendir(path) else { return total }
    defer { closedir(dir) }
    while let entry = readdir(dir) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
      if name == "." || name == ".." { continue }
      total += walk(path + "/" + name, device: UInt64(info.st_dev), seen: &seen)
    }
    return total
  }
}
