import CHops

/// File system operations as another user, on the calling thread only: the
/// daemon writes into a sandbox (`hops cp`) as the sandbox's root, so that what
/// it creates is owned by that root inside, and goes through the sandbox's
/// idmapped mounts as any of its own writes would.
public enum FilesystemIdentity {
  /// Runs `body` with the thread's file system ids set to `uid`/`gid`, then back
  /// to root. Call it on a thread of its own (see `offloaded`).
  public static func run<T>(as uid: UInt32, _ body: () throws -> T) rethrows -> T {
    hops_set_filesystem_ids(uid, uid)
    defer { hops_set_filesystem_ids(0, 0) }
    return try body()
  }
}
