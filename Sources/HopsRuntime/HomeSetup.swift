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
  /// Serializes the default rootfs's creation; holds its record as last read.
  private let defaultRootfsLock = Mutex<(stamp: FileStamp, info: RootfsInfo)?>(nil)

  public init(home: HopsHome) {
    self.home = home
    self.store = RootfsStore(home: home)
  }

  /// Creates the directories that are missing. `$HOPS_HOME` is 0700: it holds
  /// the daemon's socket, and only its owner may talk to the daemon.
  public static func ensureDirectories(_ home: HopsHome) throws {
    for path in [home.root, home.profilesDir, home.imagesDir, home.rootfsDir, home.sandboxesDir] {
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
  ///
  /// Every launch asks: while its record is the one read last (see
  /// FileStamp), that reading is the answer, one stat instead of the
  /// directories' mkdirs and a JSON decoding per sandbox.
  public func ensureDefaultRootfs() throws -> (RootfsInfo, created: Bool) {
    let name = "default"
    let record = home.rootfs(named: name) + "/info.json"
    return try defaultRootfsLock.withLock { known in
      // The stamp is taken before the record is read: a record replaced in
      // between is read again next time, never cached as the old one.
      let stamp = FileStamp(path: record)
      if let stamp, let known, known.stamp == stamp { return (known.info, false) }
      try Self.ensureDirectories(home)
      if let stamp {
        let info = try store.info(named: name)
        known = (stamp, info)
        return (info, false)
      }
      let source: RootfsStore.Source =
        FileManager.default.fileExists(atPath: home.alpineTarball)
        ? .tarball(home.alpineTarball) : .busybox(BusyboxRootfs.defaultBinary)
      known = nil
      return (try store.create(name: name, from: source), true)
    }
  }
}
