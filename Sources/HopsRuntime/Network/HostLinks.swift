import CHostNetwork
import Glibc
import HopsCore
import HopsOS

/// The host's links for a sandbox's network, over rtnetlink (see links.c).
enum HostLinks {
  /// A veth pair: `hostName` on `bridge` (isolated, up) and `peerName` in the
  /// network namespace of `peerPid`.
  static func createVeth(hostName: String, peerName: String, peerPid: pid_t, bridge: String) throws {
    var message = [CChar](repeating: 0, count: 512)
    guard hops_veth_create(hostName, peerName, peerPid, bridge, &message, message.count) == 0 else {
      throw HopsError.failed("cannot connect the sandbox to \(bridge): \(CText.string(message))")
    }
  }

  /// Deletes a link of the daemon's network namespace (a veth with its peer).
  static func delete(_ name: String) throws(SyscallError) {
    let result = hops_link_delete(name)
    if result < 0 { throw SyscallError("rtnetlink", errno: -result, detail: "delete \(name)") }
  }
}
