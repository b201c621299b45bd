#if canImport(Glibc)
import Glibc
#endif

/// The layout of `$HOPS_HOME` (default `~/.hops`). The CLI and the daemon both derive
/// every path from here, so they can never disagree about where something lives.
public struct HopsHome: Sendable, Equatable {
  public let root: String

  public init(root: String) {
    self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
  }

  /// `$HOPS_HOME` if set, else `$HOME/.hops`, else the passwd entry's home.
  public static func fromEnvironment() -> HopsHome {
    if let value = getenv("HOPS_HOME").map({ String(cString: $0) }), !value.isEmpty {
      return HopsHome(root: value)
    }
    if let home = getenv("HOME").map({ String(cString: $0) }), !home.isEmpty {
      return HopsHome(root: home + "/.hops")
    }
    if let pw = getpwuid(getuid()), let dir = pw.pointee.pw_dir {
      return HopsHome(root: String(cString: dir) + "/.hops")
    }
    return HopsHome(root: "/root/.hops")
  }

  public var socketPath: String { root + "/hops.sock" }
  /// Direct runs: a run's own streams passed to the daemon (see DirectRunServer).
  /// Named after the protocol's version: a client and a daemon of different
  /// builds do not find each other here, and the client goes through gRPC.
  public var directRunSocketPath: String { root + "/run-2.sock" }
  public var pidFile: String { root + "/hopsd.pid" }
  public var logFile: String { root + "/hopsd.log" }
  public var profilesDir: String { root + "/profiles" }
  public var imagesDir: String { root + "/images" }
  public var rootfsDir: String { root + "/images/rootfs" }
  public var sandboxesDir: String { root + "/sandboxes" }
  /// The Alpine tarball that `hops init` imports as the default rootfs when present,
  /// as the original Hops did.
  public var alpineTarball: String { root + "/alpine-minirootfs.tar.gz" }

  public func rootfs(named name: String) -> String { rootfsDir + "/" + name }
  public func sandbox(id: String) -> String { sandboxesDir + "/" + id }
}
