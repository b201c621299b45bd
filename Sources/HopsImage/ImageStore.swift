import FoundationEssentials
import Glibc
import HopsCore
import HopsOS
import Synchronization

/// One image in the store: its names, manifest, config and layers.
public struct ImageRecord: Codable, Sendable, Equatable {
  /// Canonical references (`docker.io/library/alpine:3.20`).
  public var names: [String]
  /// `sha256:<hex>` of the manifest (the image's identity).
  public var digest: String
  public var configDigest: String
  /// Diff IDs (`sha256:<hex>` of each uncompressed layer), bottom first.
  public var layers: [String]
  public var config: ImageConfig
  /// Seconds since the Unix epoch when it entered the store.
  public var storedAt: Double
  /// Bytes of its blobs.
  public var size: UInt64
}

/// The content-addressed image store under `$HOPS_HOME/images`:
///
/// ```
/// blobs/sha256/<hex>     manifests, configs, compressed layers, by digest
/// layers/<hex>/          each layer unpacked once, by diff ID: overlayfs lower layers
/// index.json             the images and their names
/// ```
///
/// Blobs and layers are written under a temporary name and renamed into place, so
/// a digest name never holds a partial or unverified file, and two imports of the
/// same layer cannot corrupt each other (the second rename finds it done).
public final class ImageStore: Sendable {
  public let home: HopsHome
  private let lock = Mutex(())

  public init(home: HopsHome) { self.home = home }

  var blobsDir: String { home.imagesDir + "/blobs/sha256" }
  var layersDir: String { home.imagesDir + "/layers" }
  var indexPath: String { home.imagesDir + "/index.json" }

  public func blobPath(_ digest: String) -> String { blobsDir + "/" + Self.hex(digest) }
  public func layerPath(_ diffID: String) -> String { layersDir + "/" + Self.hex(diffID) }

  static func hex(_ digest: String) -> String {
    digest.hasPrefix("sha256:") ? String(digest.dropFirst(7)) : digest
  }

  func prepare() throws {
    for path in [home.imagesDir, home.imagesDir + "/blobs", blobsDir, layersDir] where mkdir(path, 0o700) != 0 && errno != EEXIST {
      throw HopsError.failed("cannot create \(path): \(errnoString(errno))")
    }
    // Layers are read by sandboxes (as lower layers): traversable, not writable.
    chmod(layersDir, 0o711)
  }

  // MARK: - Index

  public func images() -> [ImageRecord] {
    lock.withLock { _ in loadIndex() }
  }

  private func loadIndex() -> [ImageRecord] {
    guard let data = FileManager.default.contents(atPath: indexPath) else { return [] }
    return (try? JSONDecoder().decode([ImageRecord].self, from: data)) ?? []
  }

  private func saveIndex(_ records: [ImageRecord]) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    let temporary = indexPath + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try encoder.encode(records).write(to: URL(fileURLWithPath: temporary))
    guard rename(temporary, indexPath) == 0 else { throw HopsError.failed("cannot write \(indexPath): \(errnoString(errno))") }
  }

  /// The image a reference names: by name, by digest, or by a unique digest prefix.
  public func find(_ text: String) throws -> ImageRecord {
    let records = images()
    if let reference = try? ImageReference.parse(text) {
      if let found = records.first(where: { $0.names.contains(reference.description) }) { return found }
      if let digest = reference.digest, let found = records.first(where: { $0.digest == digest }) { return found }
    }
    let prefix = text.hasPrefix("sha256:") ? text : "sha256:" + text
    let matches = records.filter { $0.digest.hasPrefix(prefix) }
    if text.count >= 6 && matches.count == 1 { return matches[0] }
    throw HopsError.notFound("no image named '\(text)'", hint: "see 'hops image ls', or bring it with 'hops image pull' or 'hops image import'")
  }

  /// Adds an image (or new names for one already there).
  func add(_ record: ImageRecord) throws {
    try lock.withLock { _ in
      var records = loadIndex()
      // A name moves to the new image, as a tag does.
      for index in records.indices { records[index].names.removeAll { record.names.contains($0) } }
      if let existing = records.firstIndex(where: { $0.digest == record.digest }) {
        records[existing].names = Array(Set(records[existing].names + record.names)).sorted()
      } else {
        records.append(record)
      }
      records.removeAll { $0.names.isEmpty && $0.digest != record.digest }
      try saveIndex(records)
    }
  }

  /// Removes a name; the image goes when it has no name left. Its layers stay
  /// until `prune`.
  public func remove(_ text: String) throws -> ImageRecord {
    let record = try find(text)
    try lock.withLock { _ in
      var records = loadIndex()
      let reference = (try? ImageReference.parse(text))?.description
      if let index = records.firstIndex(where: { $0.digest == record.digest }) {
        if let reference, records[index].names.contains(reference) {
          records[index].names.removeAll { $0 == reference }
        } else {
          records[index].names = []
        }
        if records[index].names.isEmpty { records.remove(at: index) }
      }
      try saveIndex(records)
    }
    return record
  }

  /// Deletes blobs and layers no image refers to and no running sandbox stands
  /// on (`inUse`: layer directories). Returns the bytes freed.
  public func prune(inUse: Set<String> = []) throws -> UInt64 {
    try lock.withLock { _ in
      let records = loadIndex()
      var keepBlobs = Set<String>()
      var keepLayers = Set<String>()
      for record in records {
        keepBlobs.insert(Self.hex(record.digest))
        keepBlobs.insert(Self.hex(record.configDigest))
        for layer in record.layers { keepLayers.insert(Self.hex(layer)) }
      }
      let blobs = (try? FileManager.default.contentsOfDirectory(atPath: blobsDir)) ?? []
      let layerBlobs = Set(records.flatMap { self.layerBlobDigests(of: $0) })
      var freed: UInt64 = 0
      // Dot-names are imports and pulls in progress: never theirs to prune.
      for blob in blobs where !blob.hasPrefix(".") && !keepBlobs.contains(blob) && !layerBlobs.contains(blob) {
        freed += Self.size(of: blobsDir + "/" + blob)
        unlink(blobsDir + "/" + blob)
      }
      let layers = (try? FileManager.default.contentsOfDirectory(atPath: layersDir)) ?? []
      for layer in layers where !layer.hasPrefix(".") && !keepLayers.contains(layer) && !inUse.contains(layersDir + "/" + layer) {
        freed += RootfsStore.diskUsage(layersDir + "/" + layer)
        try? FileManager.default.removeItem(atPath: layersDir + "/" + layer)
      }
      return freed
    }
  }

  /// The compressed layer blobs of an image, from its manifest blob.
  func layerBlobDigests(of record: ImageRecord) -> [String] {
    guard let data = FileManager.default.contents(atPath: blobPath(record.digest)),
      let manifest = try? JSONDecoder().decode(ManifestJSON.self, from: data)
    else { return [] }
    return (manifest.layers ?? []).map { Self.hex($0.digest) } + (manifest.config.map { [Self.hex($0.digest)] } ?? [])
  }

  static func size(of path: String) -> UInt64 {
    var info = stat()
    return stat(path, &info) == 0 ? UInt64(info.st_size) : 0
  }

  // MARK: - Blobs and layers

  /// Moves a verified file into the blob store under its digest (the file is
  /// gone afterwards either way).
  func storeBlob(from path: String, digest: String) throws {
    let target = blobPath(digest)
    if FileManager.default.fileExists(atPath: target) {
      // Same digest, same content: keep the one in the store, drop this copy.
      unlink(path)
      return
    }
    guard rename(path, target) == 0 || errno == EEXIST else {
      throw HopsError.failed("cannot store blob \(digest): \(errnoString(errno))")
    }
  }

  /// Unpacks a layer blob into layers/<diffID> unless it is already there.
  func unpackLayer(blob: String, diffID: String) throws {
    let target = layerPath(diffID)
    if FileManager.default.fileExists(atPath: target) { return }
    let staging = layersDir + "/.unpack-\(Self.hex(diffID).prefix(12))-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    guard mkdir(staging, 0o755) == 0 else { throw HopsError.failed("cannot create \(staging): \(errnoString(errno))") }
    do {
      _ = try TarExtractor(whiteouts: .overlay).extract(archive: blob, into: staging)
    } catch {
      try? FileManager.default.removeItem(atPath: staging)
      throw error
    }
    if rename(staging, target) != 0 {
      // Another import finished the same layer first: theirs is as good.
      try? FileManager.default.removeItem(atPath: staging)
    }
  }

  /// Leftovers of interrupted imports, removed at daemon start.
  public func removeLeftovers() {
    for directory in [layersDir, home.imagesDir] {
      for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
      where name.hasPrefix(".unpack-") || name.hasPrefix(".import-") {
        try? FileManager.default.removeItem(atPath: directory + "/" + name)
      }
    }
  }

  /// Lower directories for overlayfs, top layer first, as its lowerdir wants.
  public func lowerDirectories(of record: ImageRecord) throws -> [String] {
    let paths = record.layers.reversed().map(layerPath)
    for path in paths where !FileManager.default.fileExists(atPath: path) {
      throw HopsError.failed("layer \(path) of \(record.names.first ?? record.digest) is missing", hint: "import or pull the image again")
    }
    return paths
  }
}

/// The fields of OCI and Docker schema 2 manifests and indexes Hops reads.
struct ManifestJSON: Codable {
  struct Descriptor: Codable {
    var mediaType: String?
    var digest: String
    var size: Int64?
    var platform: Platform?
    var annotations: [String: String]?
  }
  struct Platform: Codable {
    var architecture: String?
    var os: String?
    var variant: String?
  }
  var schemaVersion: Int?
  var mediaType: String?
  var config: Descriptor?
  var layers: [Descriptor]?
  var manifests: [Descriptor]?
}
