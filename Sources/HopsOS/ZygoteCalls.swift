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
  public static func serve(_ channel: Int32) -> Bool {
    hops_zygote_serve(channel) == 0
  }

  /// In the daemon: a child of the zygote's, with the daemon as its parent,
  /// as `Spawn.startInUserNamespace` (with `mapping`) or `Spawn.start` would
  /// start hops-init. Throws EPIPE when the zygote is gone.
  public static func spawn(
    channel: Int32, descriptors: [Int32], joining: [Int32], namespaces: Spawn.Namespaces, newSession: Bool,
    mapping: Spawn.IDMapping?
  ) throws(SyscallError) -> pid_t {
    var err: Int32 = 0
    let map = mapping?.line
    let pid = descriptors.withUnsafeBufferPointer { fds in
      joining.withUnsafeBufferPointer { join in
        hops_zygote_spawn(
          channel, fds.baseAddress, Int32(fds.count), join.baseAddress, Int32(join.count), namespaces.rawValue,
          newSession ? 1 : 0, map, map, &err)
      }
    }
    if pid < 0 { throw SyscallError("zygote spawn", errno: err) }
    return pid
  }
}
