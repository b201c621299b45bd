import HopsCore
import HopsOS

/// FileTree items <-> copy chunks: the one place a copied tree crosses the wire,
/// for both directions of `hops cp`.
extension Hops_V1_CopyChunk {
  public init(_ item: FileTree.Item) {
    self = .with {
      switch item {
      case .entry(let entry):
        $0.entry = .with {
          $0.path = entry.path
          $0.kind = entry.kind.rawValue
          $0.mode = entry.mode
          $0.size = entry.size
          $0.linkTarget = entry.linkTarget
        }
      case .data(let bytes):
        $0.data = .init(bytes)
      }
    }
  }
}

extension FileTree.Entry {
  /// The entry a chunk describes; an unknown kind is an error, not a guess.
  public init(_ wire: Hops_V1_CopyEntry) throws {
    guard let kind = FileTree.Kind(rawValue: wire.kind) else {
      throw HopsError.invalid("unknown kind '\(wire.kind)' of copied entry '\(wire.path)'")
    }
    self.init(path: wire.path, kind: kind, mode: wire.mode, size: wire.size, linkTarget: wire.linkTarget)
  }
}
