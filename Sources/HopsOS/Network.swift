import CHops

/// Network set-up done from inside a sandbox's network namespace.
public enum Network {
  /// `ip link set lo up`: the loopback mode.
  public static func bringLoopbackUp() throws(SyscallError) {
    let result = hops_loopback_up()
    if result < 0 { throw SyscallError("ioctl", errno: -result, detail: "SIOCSIFFLAGS lo") }
  }
}

extension Network {
  /// Address, up, default route: the sandbox side of the outbound and full modes.
  public static func configure(interface: String, address: UInt32, prefix: Int, gateway: UInt32) throws(SyscallError) {
    let result = hops_configure_interface(interface, address, Int32(prefix), gateway)
    if result < 0 { throw SyscallError("ioctl", errno: -result, detail: "configure \(interface)") }
  }
}
