import Glibc
import HopsCore
import HopsOS

/// The host ids a sandbox's user namespace maps to: 65536 of them, root of the
/// sandbox being the first. Every sandbox gets a range of its own, so two
/// sandboxes are different users to each other and to the host, and none of
/// them is anyone the host knows (the ranges start at 2^30, far above the ids
/// of real users and of /etc/subuid's usual 100000).
///
/// A range is held by an flock on `/run/hops/userns/<slot>.lock`, shared by
/// every daemon on the host and released by the kernel if the holder dies.
public final class UserIDRange: Sendable {
  public static let size: UInt32 = 65536
  public static let firstBase: UInt32 = 1 << 30
  static let slots = 4096
  static let directory = "/run/hops/userns"

  /// The host id of the sandbox's root.
  public let base: UInt32
  private let lock: Int32

  private init(base: UInt32, lock: Int32) {
    self.base = base
    self.lock = lock
  }

  deinit { FD.close(lock) }

  public var mapping: Spawn.IDMapping { Spawn.IDMapping(outside: base, count: Self.size) }

  /// A free range; slots are tried from a random one on, so concurrent
  /// launches rarely meet on the same lock.
  public static func allocate() throws -> UserIDRange {
    for path in ["/run/hops", directory] where mkdir(path, 0o700) != 0 && errno != EEXIST {
      throw HopsError.failed("cannot create \(path): \(errnoString(errno))")
    }
    let start = Int.random(in: 0..<slots)
    for offset in 0..<slots {
      let slot = (start + offset) % slots
      let fd = open("\(directory)/\(slot).lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
      if fd < 0 { continue }
      if flock(fd, LOCK_EX | LOCK_NB) == 0 {
        return UserIDRange(base: firstBase + UInt32(slot) * size, lock: fd)
      }
      FD.close(fd)
    }
    throw HopsError(.unavailable, "no free user id range for a new sandbox (\(slots) in use)", hint: "stop some sandboxes")
  }
}
