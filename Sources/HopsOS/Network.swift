import CHops
import Glibc

/// Network set-up: inside a sandbox's network namespace, and the host's links
/// for it.
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

extension Network {
  /// A veth pair for a sandbox: `hostName` on `bridge` (isolated, up) and
  /// `peerName` in the network namespace of `peerPid`, over rtnetlink.
  public static func createVeth(hostName: String, peerName: String, peerPid: pid_t, bridge: String) throws(SyscallError) {
    let result = hops_veth_create(hostName, peerName, peerPid, bridge)
    if result < 0 { throw SyscallError("rtnetlink", errno: -result, detail: "create veth \(hostName) on \(bridge)") }
  }

  /// Deletes a link of the caller's network namespace (a veth with its peer).
  public static func deleteLink(_ name: String) throws(SyscallError) {
    let result = hops_link_delete(name)
    if result < 0 { throw SyscallError("rtnetlink", errno: -result, detail: "delete \(name)") }
  }
}
