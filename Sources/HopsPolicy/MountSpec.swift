/// One `[[sandbox.mounts]]` entry.
public struct MountSpec: Sendable, Equatable {
  public enum Kind: String, Sendable, CaseIterable {
    /// A host path shown at `destination`.
    case bind
    /// An empty in-memory filesystem (`size=`, `mode=` options).
    case tmpfs
    /// A host directory shown copy-on-write; changes go with the sandbox.
    case overlay
  }

  public var kind: Kind
  /// Host path for bind and overlay; ignored for tmpfs.
  public var source: String
  /// Path inside the sandbox.
  public var destination: String
  public var readOnly: Bool
  /// tmpfs options (`size=64m`, `mode=1777`); nothing else is passed to the kernel.
  public var options: [String]

  public init(kind: Kind, source: String, destination: String, readOnly: Bool = false, options: [String] = []) {
    self.kind = kind
    self.source = source
    self.destination = destination
    self.readOnly = readOnly
    self.options = options
  }

  /// tmpfs options Hops accepts, and the ones it passes on.
  public static let tmpfsOptionKeys: Set<String> = ["size", "mode", "nr_inodes", "uid", "gid"]
}
