import CHops
import Glibc

/// Starting processes without running Swift between fork and exec (hops_spawn in
/// CHops), optionally in new namespaces.
public enum Spawn {
  public struct Namespaces: OptionSet, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public static let mount = Namespaces(rawValue: Int32(HOPS_CLONE_NEWNS))
    public static let pid = Namespaces(rawValue: Int32(HOPS_CLONE_NEWPID))
    public static let uts = Namespaces(rawValue: Int32(HOPS_CLONE_NEWUTS))
    public static let ipc = Namespaces(rawValue: Int32(HOPS_CLONE_NEWIPC))
    public static let network = Namespaces(rawValue: Int32(HOPS_CLONE_NEWNET))
    public static let cgroup = Namespaces(rawValue: Int32(HOPS_CLONE_NEWCGROUP))
    public static let user = Namespaces(rawValue: Int32(HOPS_CLONE_NEWUSER))
  }

  /// Starts `path` with `argv` and `environment`. `descriptors[i]` becomes fd i in
  /// the child; nothing else is inherited. Throws the errno of whichever step failed,
  /// including a failed execve in the child. `joining`: cgroup v1 `tasks` files
  /// the child writes itself into first (SandboxCgroup.openForJoining).
  public static func start(
    path: String, argv: [String], environment: [String], descriptors: [Int32],
    namespaces: Namespaces = [], workingDirectory: String? = nil, newSession: Bool = false,
    controllingTerminal: Bool = false, user: (uid: UInt32, gid: UInt32)? = nil, seccompFilter: [UInt8]? = nil,
    joining: [Int32] = []
  ) throws(SyscallError) -> pid_t {
    var err: Int32 = 0
    let pid = withCStrings(argv) { cArgv in
      withCStrings(environment) { cEnv in
        descriptors.withUnsafeBufferPointer { fds in
          joining.withUnsafeBufferPointer { join in
            (seccompFilter ?? []).withUnsafeBytes { filter in
              hops_spawn_tty(
                path, cArgv, cEnv, fds.baseAddress, Int32(fds.count), namespaces.rawValue,
                workingDirectory, newSession ? 1 : 0, controllingTerminal ? 1 : 0,
                user.map { Int32(bitPattern: $0.uid) } ?? -1, user.map { Int32(bitPattern: $0.gid) } ?? -1,
                seccompFilter == nil ? nil : filter.baseAddress, seccompFilter == nil ? 0 : filter.count,
                join.baseAddress, Int32(join.count), &err)
            }
          }
        }
      }
    }
    if pid < 0 { throw SyscallError("spawn", errno: err, detail: path) }
    return pid
  }

  /// Waits for one specific child and returns its raw wait status.
  public static func wait(_ pid: pid_t) throws(SyscallError) -> Int32 {
    var status: Int32 = 0
    try syscall("waitpid") { waitpid(pid, &status, 0) }
    return status
  }
}

/// Raw wait(2) status decoding; Glibc's W* macros are not visible to Swift.
public enum WaitStatus {
  public static func exited(_ status: Int32) -> Bool { status & 0x7f == 0 }
  public static func exitCode(_ status: Int32) -> Int32 { (status >> 8) & 0xff }
  public static func signaled(_ status: Int32) -> Bool { ((status & 0x7f) + 1) >> 1 > 0 && status & 0x7f != 0x7f }
  public static func signal(_ status: Int32) -> Int32 { status & 0x7f }
  /// The shell convention: the exit code, or 128 + the signal that killed it.
  public static func shellCode(_ status: Int32) -> Int32 {
    exited(status) ? exitCode(status) : 128 + signal(status)
  }
}

/// Runs `body` with a NULL-terminated C array of the given strings.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
  var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
  pointers.append(nil)
  defer { for p in pointers { free(p) } }
  return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

extension Spawn {
  /// Waits for `pid` to exit without reaping it: until it is reaped, its pid
  /// cannot be reused, so signalling it stays safe.
  public static func waitForExitKeepingPid(_ pid: pid_t) {
    _ = hops_wait_exited_keep(pid)
  }
}

extension Spawn {
  /// A contiguous range of ids: `count` ids from `inside` in a user namespace are
  /// `outside` onwards on the host.
  public struct IDMapping: Sendable, Equatable {
    public var inside: UInt32
    public var outside: UInt32
    public var count: UInt32
    public init(inside: UInt32 = 0, outside: UInt32, count: UInt32) {
      self.inside = inside
      self.outside = outside
      self.count = count
    }
    var line: String { "\(inside) \(outside) \(count)\n" }
  }

  /// Starts `path` in a new user namespace that owns the other `namespaces`,
  /// with `mapping` for both uids and gids. It runs as root of that namespace,
  /// with every capability there and none on the host.
  public static func startInUserNamespace(
    path: String, argv: [String], environment: [String], descriptors: [Int32],
    namespaces: Namespaces, newSession: Bool, mapping: IDMapping, joining: [Int32] = []
  ) throws(SyscallError) -> pid_t {
    var err: Int32 = 0
    let map = mapping.line
    let pid = withCStrings(argv) { cArgv in
      withCStrings(environment) { cEnv in
        descriptors.withUnsafeBufferPointer { fds in
          joining.withUnsafeBufferPointer { join in
            hops_spawn_userns(
              path, cArgv, cEnv, fds.baseAddress, Int32(fds.count), namespaces.rawValue, newSession ? 1 : 0, map, map,
              join.baseAddress, Int32(join.count), &err)
          }
        }
      }
    }
    if pid < 0 { throw SyscallError("spawn", errno: err, detail: path) }
    return pid
  }
}
