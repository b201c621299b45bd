import CHops
import Glibc

/// The calls between the daemon and the hops-init zygote (CHops' zygote.c):
/// a process already past its execve and the Swift runtime's start, which
/// forks each sandbox's hops-init in fresh namespaces on request.
public enum ZygoteCalls {
  /// A SOCK_SEQPACKET pair, close-on-exec: one end for the daemon, one for the zygote.
  public static func channel() throws(SyscallError) -> (daemon: Int32, zygote: Int32) {
    var fds: [Int32] = [-1, -1]
    let result = hops_zygote_channel(&fds)
    if result < 0 { throw SyscallError("socketpair", errno: -result) }
    return (fds[0], fds[1])
  }

  /// In the zygote: serves until the daemon closes the channel. Returns true
  /// in each child (then set up as a spawned hops-init is before its execve),
  /// false in the zygote once the channel is gone.
  /// `codeOnHugePages`: moves the zygote's code onto anonymous huge pages
  /// first (best effort), which its children then share.
  public static func serve(_ channel: Int32, minimalMounts: Bool, codeOnHugePages: Bool) -> Bool {
    hops_zygote_serve(channel, minimalMounts ? 1 : 0, codeOnHugePages ? 1 : 0) == 0
  }

  /// In the daemon: a child of the zygote's, the daemon its parent, as
  /// `Spawn.startInUserNamespace` (with `mapping`) or `Spawn.start` would start
  /// hops-init. Requests on one channel must not overlap, so the caller's
  /// `serialized` gets the request (only that part) to run, under its lock,
  /// on the channel; or returns -1 without running it. Throws EPIPE when the
  /// zygote is gone.
  public static func spawn(
    descriptors: [Int32], joining: [Int32], namespaces: Spawn.Namespaces, newSession: Bool,
    mapping: Spawn.IDMapping?, serialized: ((Int32) -> pid_t) -> pid_t
  ) throws(SyscallError) -> pid_t {
    var err: Int32 = EPIPE
    var pending = hops_zygote_pending(report: -1, sync: -1)
    let pid = serialized { channel in
      descriptors.withUnsafeBufferPointer { fds in
        joining.withUnsafeBufferPointer { join in
          hops_zygote_request(
            channel, fds.baseAddress, Int32(fds.count), join.baseAddress, Int32(join.count), namespaces.rawValue,
            newSession ? 1 : 0, mapping == nil ? 0 : 1, &pending, &err)
        }
      }
    }
    if pid < 0 { throw SyscallError(requestCall, errno: err) }
    let map = mapping?.line
    let result = hops_zygote_finish(pid, map, map, &pending)
    if result < 0 { throw SyscallError("zygote child", errno: -result) }
    return pid
  }

  /// The call a failed request names; EPIPE from it means the zygote is gone.
  /// (A failure of the child's own set-up names "zygote child".)
  public static let requestCall = "zygote request"

  /// Whether `error` says the zygote is gone.
  public static func isGone(_ error: SyscallError) -> Bool {
    error.call == requestCall && (error.errno == EPIPE || error.errno == ECONNRESET)
  }
}
