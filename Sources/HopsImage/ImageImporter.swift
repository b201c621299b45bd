import FoundationEssentials
import Glibc
import HopsCore
import HopsOS

/// `hops image import`: an OCI image layout or a `docker save` archive, as a tar
/// file. The archive is unpacked (safely) into a staging directory; every blob's
/// digest is checked before it enters the store; every layer is unpacked once.
public struct ImageImporter: Sendable {
  public let store: ImageStore
  /// The platform to pick from a multi-platform index.
  public let platform: (os: String, architecture: String)

  public init(store: ImageStore, platform: (os: String, architecture: String) = ImageImporter.hostPlatform) {
    self.store = store
    self.platform = platform
  }

  public static var hostPlatform: (os: String, architecture: String) {
    #if arch(x86_64)
      return ("linux", "amd64")
    #elseif arch(arm64)
      return ("linux", "arm64")
    #else
      return ("linux", "unknown")
    #endif
  }

  public func importArchive(_ archive: String, name: String?) throws -> ImageRecord {
    try store.prepare()
    let staging = store.home.imagesDir + "/.import-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    guard mkdir(staging, 0o700) == 0 else { throw HopsError.failed("cannot create \(staging): \(errnoString(errno))") }
    defer { try? FileManager.default.removeItem(atPath: staging) }
    _ = try TarExtractor().extract(archive: archive, into: staging)
    if FileManager.default.fileExists(atPath: staging + "/oci-layout") {
      return try importOCILayout(staging, name: name, source: archive)
    }
    if FileManager.default.fileExists(atPath: staging + "/manifest.json") {
      return try importDockerArchive(staging, name: name, source: archive)
    }
    throw HopsError.invalid("\(archive) is neither an OCI image layout nor a docker-save archive", hint: "expected oci-layout or manifest.json at its top")
  }

  // MARK: - OCI layout

  private func importOCILayout(_ root: String, name: String?, source: String) throws -> ImageRecord {
    let index = try decode(root + "/index.json", what: "index.json")
    guard var descriptor = index.manifests?.first else { throw HopsError.invalid("\(source): index.json lists no image") }
    var names = name.map { [$0] } ?? []
    // ref.name is often only a tag ("latest"): a name only when it names a repository.
    if names.isEmpty, let ref = descriptor.annotations?["org.opencontainers.image.ref.name"], ref.contains("/") || ref.contains(":") {
      names = [ref]
    }
    var manifest = try decode(try verifiedBlob(root, descriptor.digest), what: "manifest \(descriptor.digest)")
    if manifest.manifests != nil {
      descriptor = try selectPlatform(manifest, source: source)
      manifest = try decode(try verifiedBlob(root, descriptor.digest), what: "manifest \(descriptor.digest)")
    }
    guard let configDescriptor = manifest.config, let layerDescriptors = manifest.layers else {
      throw HopsError.invalid("\(source): manifest \(descriptor.digest) has no config or layers")
    }
    let configPath = try verifiedBlob(root, configDescriptor.digest)
    let config = try ImageConfig.parse(try Data(contentsOf: URL(fileURLWithPath: configPath)))
    var diffIDs: [String] = []
    var size: UInt64 = 0
    for (index, layer) in layerDescriptors.enumerated() {
      let path = try verifiedBlob(root, layer.digest)
      let diffID = "sha256:" + (try SHA256Hasher.uncompressed(path))
      if index < config.diffIDs.count && config.diffIDs[index] != diffID {
        throw HopsError.invalid("\(source): layer \(layer.digest) does not match the config's diff ID \(config.diffIDs[index])")
      }
      size += ImageStore.size(of: path)
      try store.unpackLayer(blob: path, diffID: diffID)
      try store.storeBlob(from: path, digest: layer.digest)
      diffIDs.append(diffID)
    }
    try store.storeBlob(from: configPath, digest: configDescriptor.digest)
    try store.storeBlob(from: try verifiedBlob(root, descriptor.digest), digest: descriptor.digest)
    return try record(names: names, digest: descriptor.digest, configDigest: configDescriptor.digest, layers: diffIDs, config: config, size: size, source: source)
  }

  private func selectPlatform(_ index: ManifestJSON, source: String) throws -> ManifestJSON.Descriptor {
    let candidates = index.manifests ?? []
    if let match = candidates.first(where: { $0.platform?.os == platform.os && $0.platform?.architecture == platform.architecture }) {
      return match
    }
    let offered = candidates.compactMap { $0.platform.map { "\($0.os ?? "?")/\($0.architecture ?? "?")" } }
    throw HopsError.invalid(
      "\(source) has no image for \(platform.os)/\(platform.architecture)", hint: "it offers: \(offered.joined(separator: ", "))")
  }

  /// The blob's path after checking that its content has the digest it claims.
  private func verifiedBlob(_ root: String, _ digest: String) throws -> String {
    guard digest.hasPrefix("sha256:"), digest.count == 71, digest.dropFirst(7).allSatisfy({ $0.isHexDigit }) else {
      throw HopsError.invalid("unsupported or malformed digest '\(digest)'")
    }
    let path = try Self.regularFile(root + "/blobs/sha256/" + digest.dropFirst(7))
    let actual = "sha256:" + (try SHA256Hasher.file(path))
    guard actual == digest else { throw HopsError.invalid("blob \(digest) is corrupt: its content hashes to \(actual)") }
    return path
  }

  // MARK: - docker save

  private func importDockerArchive(_ root: String, name: String?, source: String) throws -> ImageRecord {
    struct Entry: Decodable {
      var Config: String
      var RepoTags: [String]?
      var Layers: [String]
    }
    let data = try Data(contentsOf: URL(fileURLWithPath: try Self.regularFile(root + "/manifest.json")))
    guard let entry = try JSONDecoder().decode([Entry].self, from: data).first else {
      throw HopsError.invalid("\(source): manifest.json lists no image")
    }
    let configPath = try insideArchive(root, entry.Config)
    let configDigest = "sha256:" + (try SHA256Hasher.file(configPath))
    let config = try ImageConfig.parse(try Data(contentsOf: URL(fileURLWithPath: configPath)))
    guard config.diffIDs.count == entry.Layers.count else {
      throw HopsError.invalid("\(source): the config lists \(config.diffIDs.count) layers, the manifest \(entry.Layers.count)")
    }
    var diffIDs: [String] = []
    var layerDescriptors: [ManifestJSON.Descriptor] = []
    var size: UInt64 = 0
    for (index, layer) in entry.Layers.enumerated() {
      let path = try insideArchive(root, layer)
      let diffID = "sha256:" + (try SHA256Hasher.uncompressed(path))
      guard diffID == config.diffIDs[index] else {
        throw HopsError.invalid("\(source): layer \(layer) is corrupt: it hashes to \(diffID), the config says \(config.diffIDs[index])")
      }
      let digest = "sha256:" + (try SHA256Hasher.file(path))
      size += ImageStore.size(of: path)
      try store.unpackLayer(blob: path, diffID: diffID)
      layerDescriptors.append(.init(mediaType: "application/vnd.docker.image.rootfs.diff.tar", digest: digest, size: Int64(ImageStore.size(of: path))))
      try store.storeBlob(from: path, digest: digest)
      diffIDs.append(diffID)
    }
    // A docker-save archive has no manifest blob: write the equivalent schema 2
    // manifest, so the image has an identity like any other.
    let manifest = ManifestJSON(
      schemaVersion: 2, mediaType: "application/vnd.docker.distribution.manifest.v2+json",
      config: .init(mediaType: "application/vnd.docker.container.image.v1+json", digest: configDigest, size: Int64(ImageStore.size(of: configPath))),
      layers: layerDescriptors, manifests: nil)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let manifestData = try encoder.encode(manifest)
    let manifestPath = root + "/.manifest"
    try manifestData.write(to: URL(fileURLWithPath: manifestPath))
    let manifestDigest = "sha256:" + (try SHA256Hasher.file(manifestPath))
    try store.storeBlob(from: configPath, digest: configDigest)
    try store.storeBlob(from: manifestPath, digest: manifestDigest)
    let names = name.map { [$0] } ?? (entry.RepoTags ?? [])
    return try record(names: names, digest: manifestDigest, configDigest: configDigest, layers: diffIDs, config: config, size: size, source: source)
  }

  /// A path named by the archive's own manifest, which must stay inside it.
  private func insideArchive(_ root: String, _ relative: String) throws -> String {
    let parts = relative.split(separator: "/")
    guard !relative.hasPrefix("/"), !parts.contains(".."), !parts.isEmpty else {
      throw HopsError.invalid("archive path '\(relative)' points outside the archive")
    }
    return try Self.regularFile(root + "/" + relative)
  }

  /// Every file read from an archive must be a plain file: a symlink there
  /// (to /dev/zero, say) would make us read something the archive does not hold.
  static func regularFile(_ path: String) throws -> String {
    var info = stat()
    guard lstat(path, &info) == 0 else { throw HopsError.invalid("\(path.split(separator: "/").last ?? "") is missing from the archive") }
    guard info.st_mode & S_IFMT == S_IFREG else {
      throw HopsError.invalid("\(path.split(separator: "/").last ?? "") in the archive is not a regular file")
    }
    return path
  }

  private func record(
    names: [String], digest: String, configDigest: String, layers: [String], config: ImageConfig, size: UInt64, source: String
  ) throws -> ImageRecord {
    guard !names.isEmpty else {
      throw HopsError.invalid("\(source) does not name its image", hint: "give it a name: hops image import --name NAME \(source)")
    }
    let canonical = try names.map { try ImageReference.parse($0).description }
    let record = ImageRecord(
      names: canonical, digest: digest, configDigest: configDigest, layers: layers, config: config,
      storedAt: Date().timeIntervalSince1970, size: size)
    try store.add(record)
    return try store.find(canonical[0])
  }

  private func decode(_ path: String, what: String) throws -> ManifestJSON {
    guard let data = FileManager.default.contents(atPath: try Self.regularFile(path)) else { throw HopsError.invalid("\(what) is missing") }
    do { return try JSONDecoder().decode(ManifestJSON.self, from: data) } catch {
      throw HopsError.invalid("\(what) is not valid JSON: \(error)")
    }
  }
}
