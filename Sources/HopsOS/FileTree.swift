import CHops
import Glibc

/// Copying a file or directory tree as a stream of entries, for `hops cp`. Both
/// ends work from directory descriptors and never follow a symlink they did not
/// resolve themselves: the reader emits symlinks as symlinks, and the writer
/// creates every entry below the tree's top with RESOLVE_BENEATH |
/// RESOLVE_NO_SYMLINKS, so neither a hostile sandbox nor a hostile stream can
/// make a copy read or land outside the tree it names.
public enum FileTree {
  public enum Kind: String, Sendable {
    case file, directory, symlink
  }

  public struct Entry: Sendable, Equatable {
    /// Relative to the top, '/'-separated; "" is the top itself.
    public var path: String
    public var kind: Kind
    /// Permission bits (07777).
    public var mode: UInt32
    public var size: UInt64
    public var linkTarget: String

    public init(path: String, kind: Kind, mode: UInt32, size: UInt64 = 0, linkTarget: String = "") {
      self.path = path
      self.kind = kind
      self.mode = mode
      self.size = size
      self.linkTarget = linkTarget
    }
  }

  public enum Item: Sendable {
    /// An entry; a file's bytes follow as `data` items.
    case entry(Entry)
    case data([UInt8])
  }

  /// Filesystems that are views of the kernel, not files: never walked (a copy
  /// of /proc would read kernel state as the daemon, with all its privileges).
  static let kernelFilesystems: Set<Int> = [0x9fa0, 0x6265_6572, 0x1cd1, 0x27e0eb, 0x6367_7270, 0x6462_6720, 0x7363_6673, 0x7472_6163, 0xcafe_4a11]

  static func isKernelFilesystem(_ fd: Int32) -> Bool {
    kernelFilesystems.contains(hops_filesystem_type(fd))
  }

  /// Checks a relative entry path from a stream: no absolute path, no "..", no
  /// empty or "." component.
  public static func validate(_ path: String) throws(SyscallError) {
    if path.isEmpty { return }
    for component in path.split(separator: "/", omittingEmptySubsequences: false) {
      if component.isEmpty || component == "." || component == ".." {
        throw SyscallError("copy", errno: EINVAL, detail: "bad entry path '\(path)'")
      }
    }
  }

  // MARK: - Reading

  /// Walks the tree at `name` in the directory `parent` (an O_PATH descriptor is
  /// enough), depth first, yielding entries and file contents in chunks.
  public final class Reader: @unchecked Sendable {
    private struct Level {
      let fd: Int32
      let dir: OpaquePointer
      let path: String
    }
    private var stack: [Level] = []
    private var file: Int32 = -1
    private var pending: Entry?
    private var started = false
    private let parent: Int32
    private let name: String

    public init(parent: Int32, name: String) {
      self.parent = parent
      self.name = name
    }

    deinit {
      FD.close(file)
      for level in stack { closedir(level.dir) }
    }

    public func next() throws(SyscallError) -> Item? {
      if !started {
        started = true
        return try visit(parent, name, path: "")
      }
      if file >= 0 {
        let chunk = try FD.read(file, max: 65536)
        if !chunk.isEmpty { return .data(chunk) }
        FD.close(file)
        file = -1
      }
      while let level = stack.last {
        errno = 0
        guard let raw = readdir(level.dir) else {
          closedir(level.dir)
          stack.removeLast()
          continue
        }
        let entryName = withUnsafeBytes(of: raw.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        if entryName == "." || entryName == ".." { continue }
        let path = level.path.isEmpty ? entryName : level.path + "/" + entryName
        if let item = try visit(level.fd, entryName, path: path) { return item }
      }
      return nil
    }

    /// One name: its entry, with the directory pushed or the file opened.
    /// Device nodes, sockets and FIFOs are skipped (nil).
    private func visit(_ directory: Int32, _ name: String, path: String) throws(SyscallError) -> Item? {
      var info = stat()
      try syscall("stat", name) { fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) }
      let mode = UInt32(info.st_mode) & 0o7777
      switch info.st_mode & S_IFMT {
      case S_IFDIR:
        let fd = try syscall("open", name) { openat(directory, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        if FileTree.isKernelFilesystem(fd) {
          FD.close(fd)
          if path.isEmpty { throw SyscallError("copy", errno: EPERM, detail: "\(name) is a kernel filesystem (proc, sys, cgroup...), not files") }
          return .entry(Entry(path: path, kind: .directory, mode: mode))
        }
        // fdopendir takes its own descriptor; ours stays for openat.
        let dirFD = dup(fd)
        guard dirFD >= 0, let dir = fdopendir(dirFD) else {
          FD.close(dirFD)
          FD.close(fd)
          throw SyscallError("opendir", errno: errno, detail: name)
        }
        stack.append(Level(fd: fd, dir: dir, path: path))
        return .entry(Entry(path: path, kind: .directory, mode: mode))
      case S_IFREG:
        // O_NONBLOCK: should the file be swapped for a FIFO meanwhile, no hang;
        // the fstat below then refuses it.
        let fd = try syscall("open", name) { openat(directory, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) }
        var opened = stat()
        guard fstat(fd, &opened) == 0, opened.st_mode & S_IFMT == S_IFREG else {
          FD.close(fd)
          return nil
        }
        file = fd
        return .entry(Entry(path: path, kind: .file, mode: mode, size: UInt64(opened.st_size)))
      case S_IFLNK:
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = try syscall("readlink", name) { readlinkat(directory, name, &buffer, Int(PATH_MAX)) }
        let target = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return .entry(Entry(path: path, kind: .symlink, mode: 0o777, linkTarget: target))
      default:
        return nil
      }
    }
  }

  // MARK: - Writing

  /// Creates the tree at `name` in the directory `parent`, entry by entry. The
  /// top replaces a file or symlink of that name; everything below it is
  /// created beneath the top without following any symlink.
  public final class Writer: @unchecked Sendable {
    private let parent: Int32
    private let name: String
    private var top: Int32 = -1
    private var file: Int32 = -1
    public private(set) var entries = 0
    public private(set) var bytes: UInt64 = 0

    public init(parent: Int32, name: String) {
      self.parent = parent
      self.name = name
    }

    deinit {
      FD.close(file)
      FD.close(top)
    }

    public func begin(_ entry: Entry) throws(SyscallError) {
      try closeFile()
      try FileTree.validate(entry.path)
      let directory: Int32
      let leaf: String
      if entry.path.isEmpty {
        directory = parent
        leaf = name
      } else {
        guard top >= 0 else { throw SyscallError("copy", errno: ENOTDIR, detail: "entries below a top that is not a directory") }
        let parts = entry.path.split(separator: "/")
        leaf = String(parts.last!)
        let within = parts.dropLast().joined(separator: "/")
        directory = within.isEmpty
          ? top
          : try syscall("open", within) { hops_open_beneath(top, within, Int32(HOPS_O_PATH) | O_DIRECTORY | O_CLOEXEC, 0) }
      }
      defer { if directory != parent && directory != top { FD.close(directory) } }
      entries += 1
      let mode = mode_t(entry.mode & 0o7777)
      switch entry.kind {
      case .directory:
        if mkdirat(directory, leaf, 0o700) != 0 && errno != EEXIST {
          throw SyscallError("mkdir", errno: errno, detail: entry.path.isEmpty ? leaf : entry.path)
        }
        let fd = try syscall("open", leaf) { openat(directory, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        fchmod(fd, mode)
        if entry.path.isEmpty { top = fd } else { FD.close(fd) }
      case .file:
        var fd = openat(directory, leaf, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        if fd < 0 && errno == ELOOP {
          // A symlink is in the way: the file replaces it, never writes through it.
          unlinkat(directory, leaf, 0)
          fd = openat(directory, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        }
        if fd < 0 { throw SyscallError("open", errno: errno, detail: entry.path.isEmpty ? leaf : entry.path) }
        fchmod(fd, mode)
        file = fd
      case .symlink:
        unlinkat(directory, leaf, 0)
        try syscall("symlink", leaf) { symlinkat(entry.linkTarget, directory, leaf) }
      }
    }

    public func write(_ chunk: [UInt8]) throws(SyscallError) {
      guard file >= 0 else { throw SyscallError("copy", errno: EBADF, detail: "data without a file entry") }
      try FD.writeAll(file, chunk)
      bytes += UInt64(chunk.count)
    }

    public func finish() throws(SyscallError) { try closeFile() }

    private func closeFile() throws(SyscallError) {
      guard file >= 0 else { return }
      let fd = file
      file = -1
      try syscall("close") { Glibc.close(fd) }
    }
  }
}

extension FileTree {
  /// Removes `path` and everything under it, without following symlinks or
  /// crossing mounts; a path that is not there is fine. (Foundation's
  /// removeItem costs about a millisecond more per sandbox.)
  public static func remove(_ path: String) throws(SyscallError) {
    let result = hops_remove_tree(path)
    if result < 0 { throw SyscallError("remove", errno: -result, detail: path) }
  }
}
