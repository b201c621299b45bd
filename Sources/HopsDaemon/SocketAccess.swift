import FoundationEssentials
import Glibc
import HopsCore
import Logging
import NIOCore

/// Who may talk to hopsd. The socket is 0600 in a 0700 `$HOPS_HOME`; on top of
/// that each accepted connection's peer credentials (SO_PEERCRED, which the
/// kernel fills in at connect time and the peer cannot forge) are checked:
/// the daemon's own user, and members of the optional group, are let in;
/// anyone else's connection is closed before it can send a call.
///
/// The group is for shared machines (`hopsd --socket-group hops`). Like the
/// docker group, membership is as powerful as root: a member can ask for any
/// host path to be shown in a sandbox.
struct SocketAccess: Sendable {
  /// The group allowed besides the daemon's user, if any.
  let group: gid_t?
  let logger: Logger

  /// The group's id for a name or number; nil for none.
  static func resolveGroup(_ name: String?) throws -> gid_t? {
    guard let name, !name.isEmpty else { return nil }
    if let number = UInt32(name) { return number }
    guard let entry = getgrnam(name) else {
      throw HopsError.notFound("no group '\(name)' on this host", hint: "create it (groupadd \(name)) or name another")
    }
    return entry.pointee.gr_gid
  }

  /// The socket's owner and mode: 0600, or 0660 owned by the group.
  func secure(socket path: String, home: HopsHome) {
    if let group {
      // The group must be able to reach the socket: it may traverse the home
      // (0710), not list or read what is in it.
      chown(home.root, 0, group)
      chmod(home.root, 0o710)
      chown(path, 0, group)
      chmod(path, 0o660)
    } else {
      chmod(home.root, 0o700)
      chmod(path, 0o600)
    }
  }

  /// SO_PEERCRED's `struct ucred`.
  struct PeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
  }

  static let peerCredentialsOption = Int32(17)  // SO_PEERCRED

  /// Called for every accepted connection, before any of its calls.
  func check(_ channel: any Channel) -> EventLoopFuture<Void> {
    guard let provider = channel as? any SocketOptionProvider else {
      return refuse(channel, "its peer credentials cannot be read")
    }
    let level = SocketOptionLevel(SOL_SOCKET)
    let name = SocketOptionName(Self.peerCredentialsOption)
    let future: EventLoopFuture<PeerCredentials> = provider.unsafeGetSocketOption(level: level, name: name)
    return future.flatMap { peer in
      if self.allows(peer) { return channel.eventLoop.makeSucceededVoidFuture() }
      return self.refuse(channel, "uid \(peer.uid) (pid \(peer.pid)) is neither the daemon's user nor in its group")
    }.flatMapError { error in
      self.refuse(channel, "its peer credentials cannot be read: \(error)")
    }
  }

  func allows(_ peer: PeerCredentials) -> Bool {
    if peer.uid == geteuid() { return true }
    guard let group else { return false }
    return peer.gid == group || Self.supplementaryGroups(of: peer.pid).contains(group)
  }

  /// The peer's supplementary groups, from /proc (it is alive: it just connected).
  static func supplementaryGroups(of pid: Int32) -> [gid_t] {
    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/status") else { return [] }
    let text = String(decoding: data, as: UTF8.self)
    guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Groups:") }) else { return [] }
    return line.dropFirst(7).split(separator: " ").compactMap { UInt32($0.trimmingCharacters(in: .whitespaces)) }
  }

  private func refuse(_ channel: any Channel, _ reason: String) -> EventLoopFuture<Void> {
    logger.warning("refused a connection", metadata: ["reason": "\(reason)"])
    struct Refused: Error {}
    return channel.close().flatMapThrowing { throw Refused() }
  }
}
