/// What the store records about one root filesystem (`info.json` beside it).
public struct RootfsInfo: Codable, Sendable, Equatable {
  public var name: String
  /// The directory the sandbox's overlay uses as its lower layer.
  public var path: String
  /// Where it came from: a tarball path, a directory, or "busybox:/bin/busybox".
  public var source: String
  /// Seconds since the Unix epoch.
  public var createdAt: Double
  public var sizeBytes: UInt64

  public init(name: String, path: String, source: String, createdAt: Double, sizeBytes: UInt64) {
    self.name = name
    self.path = path
    self.source = source
    self.createdAt = createdAt
    self.sizeBytes = sizeBytes
  }
}
