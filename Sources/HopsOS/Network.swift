import CHops

/// Network set-up done from inside a sandbox's network namespace.
public enum Network {
  /// `ip link set lo up`: the loopback mode.
  public static func bringLoopbackUp() throws(SyscallError) {
    let result = hops_loopback_up()
    if result < 0 { throw SyscallError("ioctl", errno: -result, detail: "SIOCSIFFLAGS lo") }
  }
}
