import FoundationEssentials
import Glibc
import HopsCore
import HopsImage
import HopsOS
import Synchronization

/// Idempotent set-up of `$HOPS_HOME`: directories with owner-only permissions and
/// the default rootfs. Used by `hops init` and on first use.
public final class HomeSetup: Sendable {
  public let home: HopsHome
  public let store: RootfsStore
  private let defaultRootfsLock = Mutex(())

  public init(home: HopsHome) {
    self.home = home
    self.store = RootfsStore(home: home)
  }

  /// Creates the directories that are missing. `$HOPS_HOME` is 0700: it holds
  /// the daemon's socket, and only its owner may talk to the daemon.
  public static func ensureDirectories(_ home: HopsHome) throws {
    for path in [home.root, home.profilesDir, home.imagesDir, home.rootfsDir, home.sandboxesDir, home.warmDir] {
      if mkdir(path, 0o700) == 0 {
        // Exactly 0700, whatever the umask; an existing home keeps its mode
        // (the daemon opens it to its socket group, see SocketAccess).
        if path == home.root { chmod(home.root, 0o700) }
      } else if errno != EEXIST {
        throw HopsError.failed("cannot create \(path): \(errnoString(errno))", hint: "check that its parent exists and is writable")
      }
    }
  }

  /// The default rootfs, created if it is missing: from the Alpine tarball the
  /// original Hops used when it is in `$HOPS_HOME`, else from the host's BusyBox.
  /// Returns it and whether this call created it.
  public func ensureDefaultRootfs() throws -> (RootfsInfo, created: Bool) {
    try defaultRootfsLock.withLock { _ in
      try Self.ensureDirectories(home)
      let name = "default"
      if store.exists(name) { return (try store.info(named: name), false) }
      let source: RootfsStore.Source =
        FileManager.default.fileExists(atPath: home.alpineTarball)
        ? .tarball(home.alpineTarball) : .busybox(BusyboxRootfs.defaultBinary)
      return (try store.create(name: name, from: source), true)
    }
  }
}
