import Glibc

/// mount(2), umount2(2) and pivot_root(2), each named in its error.
public enum Mounts {
  public struct Flags: OptionSet, Sendable {
    public let rawValue: UInt
    public init(rawValue: UInt) { self.rawValue = rawValue }
    public static let readOnly = Flags(rawValue: UInt(MS_RDONLY))
    public static let noSuid = Flags(rawValue: UInt(MS_NOSUID))
    public static let noDev = Flags(rawValue: UInt(MS_NODEV))
    public static let noExec = Flags(rawValue: UInt(MS_NOEXEC))
    public static let bind = Flags(rawValue: UInt(MS_BIND))
    public static let recursive = Flags(rawValue: UInt(MS_REC))
    public static let remount = Flags(rawValue: UInt(MS_REMOUNT))
    public static let privatePropagation = Flags(rawValue: UInt(MS_PRIVATE))
    public static let slave = Flags(rawValue: UInt(MS_SLAVE))
  }

  public static func mount(
    source: String, target: String, type: String?, flags: Flags, data: String? = nil
  ) throws(SyscallError) {
    try syscall("mount", "\(type ?? "bind") \(source) on \(target)") {
      Glibc.mount(source, target, type, flags.rawValue, data)
    }
  }

  /// Makes every mount below `path` private, so nothing we mount in our namespace
  /// propagates back to the host (and nothing of the host's later mounts leaks in).
  public static func makePrivate(_ path: String) throws(SyscallError) {
    try syscall("mount", "make-rprivate \(path)") {
      Glibc.mount(nil, path, nil, UInt(MS_REC | MS_PRIVATE), nil)
    }
  }

  public static func bind(_ source: String, _ target: String, recursive: Bool = false) throws(SyscallError) {
    try mount(source: source, target: target, type: nil, flags: recursive ? [.bind, .recursive] : [.bind])
  }

  /// A bind mount cannot take flags on creation; read-only etc. need a remount.
  public static func remountBind(_ target: String, flags: Flags) throws(SyscallError) {
    try syscall("mount", "remount \(target)") {
      Glibc.mount(nil, target, nil, ([.bind, .remount] as Flags).union(flags).rawValue, nil)
    }
  }

  public static func unmount(_ target: String, detach: Bool = false) throws(SyscallError) {
    try syscall("umount2", target) { umount2(target, detach ? Int32(MNT_DETACH) : 0) }
  }

  public static func pivotRoot(_ newRoot: String, _ putOld: String) throws(SyscallError) {
    try syscall("pivot_root", newRoot) { hopsPivotRoot(newRoot, putOld) }
  }
}
