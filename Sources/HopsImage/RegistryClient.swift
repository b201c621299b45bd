import Foundation
import FoundationNetworking
import HopsCore
import HopsOS

/// A client of the OCI distribution API, enough to pull: manifests (OCI and
/// Docker schema 2, indexes with platform selection) and blobs, with anonymous
/// bearer tokens as Docker Hub and GHCR hand them out, basic auth, and
/// credentials from `~/.docker/config.json` (or `$DOCKER_CONFIG`). Every blob is
/// checked against its digest before it enters the store; a failed or cut
/// download leaves only its staging file in the store, which is removed.
public final class RegistryClient: @unchecked Sendable {
  public let store: ImageStore
  let session: URLSession
  let downloads: BlobDownloads
  let insecureHosts: Set<String>
  let platform: (os: String, architecture: String)
  private var tokens: [String: String] = [:]
  private let lock = NSLock()

  public static let manifestTypes = [
    "application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.docker.distribution.manifest.v2+json",
  ]

  public init(store: ImageStore, insecure: Bool, platform: (os: String, architecture: String) = ImageImporter.hostPlatform) {
    self.store = store
    self.platform = platform
    let configuration = URLSessionConfiguration.ephemeral
    configuration.timeoutIntervalForRequest = 60
    // The delegate writes blobs where the store wants them, and answers
    // basic-auth challenges: without an answer, Foundation on Linux waits for
    // one forever.
    downloads = BlobDownloads()
    session = URLSession(configuration: configuration, delegate: downloads, delegateQueue: nil)
    var hosts = Set((ProcessInfo.processInfo.environment["HOPS_INSECURE_REGISTRIES"] ?? "").split(separator: ",").map { String($0).trimmed })
    if insecure { hosts.insert("*") }
    insecureHosts = hosts
  }

  /// Pulls an image into the store; `progress` hears one line per step.
  public func pull(_ text: String, progress: @escaping @Sendable (String) -> Void) async throws -> ImageRecord {
    let reference = try ImageReference.parse(text)
    try store.prepare()
    let host = reference.registry == ImageReference.defaultRegistry ? "registry-1.docker.io" : reference.registry
    let scheme = insecureHosts.contains("*") || insecureHosts.contains(reference.registry) ? "http" : "https"
    let base = "\(scheme)://\(host)/v2/\(reference.repository)"

    var (manifestData, mediaType) = try await fetchManifest(base + "/manifests/" + (reference.digest ?? reference.tag ?? "latest"), reference: reference)
    var manifestDigest = "sha256:" + Self.sha256(manifestData)
    if let wanted = reference.digest, wanted != manifestDigest {
      throw HopsError.invalid("the registry's manifest for \(reference) hashes to \(manifestDigest), not \(wanted)")
    }
    var manifest = try JSONDecoder().decode(ManifestJSON.self, from: manifestData)
    if manifest.manifests != nil || mediaType.contains("index") || mediaType.contains("list") {
      let candidates = manifest.manifests ?? []
      guard let chosen = candidates.first(where: { $0.platform?.os == platform.os && $0.platform?.architecture == platform.architecture }) else {
        let offered = candidates.compactMap { $0.platform.map { "\($0.os ?? "?")/\($0.architecture ?? "?")" } }
        throw HopsError.invalid("\(reference) has no image for \(platform.os)/\(platform.architecture)", hint: "it offers: \(offered.joined(separator: ", "))")
      }
      guard Self.isDigest(chosen.digest) else { throw HopsError.invalid("\(reference): the index names a malformed digest") }
      progress("platform \(platform.os)/\(platform.architecture): \(chosen.digest)")
      (manifestData, mediaType) = try await fetchManifest(base + "/manifests/" + chosen.digest, reference: reference)
      manifestDigest = "sha256:" + Self.sha256(manifestData)
      guard manifestDigest == chosen.digest else { throw HopsError.invalid("manifest \(chosen.digest) is corrupt (hashes to \(manifestDigest))") }
      manifest = try JSONDecoder().decode(ManifestJSON.self, from: manifestData)
    }
    guard let configDescriptor = manifest.config, let layers = manifest.layers else {
      throw HopsError.invalid("\(reference): the manifest has no config or layers")
    }
    let configPath = try await fetchBlob(base, configDescriptor.digest, reference: reference)
    let config = try ImageConfig.parse(try Data(contentsOf: URL(fileURLWithPath: configPath)))
    var diffIDs: [String] = []
    var size: UInt64 = 0
    for (index, layer) in layers.enumerated() {
      if let type = layer.mediaType, type.contains("zstd") {
        throw HopsError(.unavailable, "\(reference) has zstd-compressed layers, which this build cannot unpack", hint: "pull a gzip variant of the image")
      }
      progress("layer \(index + 1)/\(layers.count) \(layer.digest.prefix(19)) \(layer.size.map { Self.formatSize(UInt64(clamping: $0)) } ?? "")")
      let path = try await fetchBlob(base, layer.digest, reference: reference)
      // Hashing and unpacking block: they run on a thread of their own.
      let store = self.store
      let diffID = try await offloaded { "sha256:" + (try SHA256Hasher.uncompressed(path)) }
      if index < config.diffIDs.count && config.diffIDs[index] != diffID {
        throw HopsError.invalid("layer \(layer.digest) does not match the config's diff ID \(config.diffIDs[index])")
      }
      try await offloaded { try store.unpackLayer(blob: path, diffID: diffID) }
      size += ImageStore.size(of: path)
      diffIDs.append(diffID)
    }
    let manifestFile = store.home.imagesDir + "/.import-manifest-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try manifestData.write(to: URL(fileURLWithPath: manifestFile))
    try store.storeBlob(from: manifestFile, digest: manifestDigest)
    var names = [reference.description]
    if reference.digest != nil { names = [ImageReference(registry: reference.registry, repository: reference.repository, tag: nil, digest: manifestDigest).description] }
    let record = ImageRecord(
      names: names, digest: manifestDigest, configDigest: configDescriptor.digest, layers: diffIDs, config: config,
      storedAt: Date().timeIntervalSince1970, size: size)
    try store.add(record)
    progress("digest: \(manifestDigest)")
    return try store.find(names[0])
  }

  // MARK: - HTTP

  static func isDigest(_ text: String) -> Bool {
    text.hasPrefix("sha256:") && text.count == 71 && text.dropFirst(7).allSatisfy { $0.isHexDigit }
  }

  private func fetchManifest(_ url: String, reference: ImageReference) async throws -> (Data, String) {
    guard let target = URL(string: url) else { throw HopsError.invalid("cannot form a URL from \(url)") }
    var request = URLRequest(url: target)
    request.setValue(Self.manifestTypes.joined(separator: ", "), forHTTPHeaderField: "Accept")
    let (data, response) = try await send(request, reference: reference)
    guard response.statusCode == 200 else {
      throw HopsError.notFound("\(reference): the registry answered \(response.statusCode) for the manifest", hint: Self.body(data))
    }
    return (data, (response.value(forHTTPHeaderField: "Content-Type") ?? "").lowercased())
  }

  /// The blob's path in the store, downloaded and verified if it was not there.
  private func fetchBlob(_ base: String, _ digest: String, reference: ImageReference) async throws -> String {
    guard digest.hasPrefix("sha256:"), digest.count == 71, digest.dropFirst(7).allSatisfy({ $0.isHexDigit }) else {
      throw HopsError.invalid("unsupported digest '\(digest)'")
    }
    let target = store.blobPath(digest)
    if FileManager.default.fileExists(atPath: target) { return target }
    var lastError: Error = HopsError.failed("no attempt")
    for attempt in 1...3 {
      let staging = store.home.imagesDir + "/.import-blob-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
      // Gone once stored (renamed into the store); removed on every failure.
      defer { unlink(staging) }
      do {
        guard let url = URL(string: base + "/blobs/" + digest) else { throw HopsError.invalid("cannot form a URL for \(digest)") }
        let (actual, response) = try await download(URLRequest(url: url), into: staging, reference: reference)
        guard response.statusCode == 200 else {
          throw HopsError.failed("the registry answered \(response.statusCode) for blob \(digest)")
        }
        guard "sha256:" + actual == digest else { throw HopsError.invalid("blob \(digest) is corrupt: its content hashes to sha256:\(actual)") }
        try store.storeBlob(from: staging, digest: digest)
        return target
      } catch let error as HopsError where error.kind == .invalidArgument {
        lastError = error  // corrupt content: retrying may fetch a good copy
      } catch {
        lastError = error
      }
      if attempt < 3 { try await Task.sleep(for: .milliseconds(200 * attempt)) }
    }
    throw lastError
  }

  private func send(_ original: URLRequest, reference: ImageReference) async throws -> (Data, HTTPURLResponse) {
    var request = original
    authorize(&request, reference: reference)
    var (data, response) = try await perform { try await self.session.data(for: request) }
    if response.statusCode == 401, try await authenticate(response, reference: reference) {
      request = original
      authorize(&request, reference: reference)
      (data, response) = try await perform { try await self.session.data(for: request) }
    }
    return (data, response)
  }

  /// Downloads into `path` (replaced on a retry after a login): the body's
  /// SHA-256 and the response.
  private func download(_ original: URLRequest, into path: String, reference: ImageReference) async throws -> (String, HTTPURLResponse) {
    var request = original
    authorize(&request, reference: reference)
    var (sha256, response) = try await perform { try await self.downloadOnce(request, into: path) }
    if response.statusCode == 401, try await authenticate(response, reference: reference) {
      unlink(path)
      request = original
      authorize(&request, reference: reference)
      (sha256, response) = try await perform { try await self.downloadOnce(request, into: path) }
    }
    return (sha256, response)
  }

  private func downloadOnce(_ request: URLRequest, into path: String) async throws -> (String, URLResponse) {
    let finished = try await downloads.download(request, on: session, into: path)
    return (finished.sha256, finished.response)
  }

  private func perform<T>(_ body: () async throws -> (T, URLResponse)) async throws -> (T, HTTPURLResponse) {
    do {
      let (value, response) = try await body()
      guard let http = response as? HTTPURLResponse else { throw HopsError.failed("not an HTTP response") }
      return (value, http)
    } catch let error as HopsError {
      throw error
    } catch let error as URLError where error.code == .cancelled || error.code == .userAuthenticationRequired {
      throw HopsError(.unavailable, "the registry needs a login", hint: "add credentials to ~/.docker/config.json (docker login or skopeo login)")
    } catch {
      throw HopsError(.unavailable, "cannot reach the registry: \(error.localizedDescription)")
    }
  }

  private func authorize(_ request: inout URLRequest, reference: ImageReference) {
    if let token = lock.withLock({ tokens[reference.registry] }) {
      request.setValue(token, forHTTPHeaderField: "Authorization")
    }
  }

  /// Answers a 401: a bearer challenge is met with a token from its realm
  /// (anonymous, or with the configured credentials); a basic one with them.
  private func authenticate(_ response: HTTPURLResponse, reference: ImageReference) async throws -> Bool {
    guard let header = response.value(forHTTPHeaderField: "WWW-Authenticate") else { return false }
    let credentials = Self.credentials(for: reference.registry)
    let lower = header.lowercased()
    if lower.hasPrefix("basic") {
      guard let credentials else {
        throw HopsError(.unavailable, "\(reference.registry) needs a login", hint: "add credentials to ~/.docker/config.json (docker login or skopeo login)")
      }
      lock.withLock { tokens[reference.registry] = "Basic " + credentials }
      return true
    }
    guard lower.hasPrefix("bearer") else { return false }
    let parameters = Self.challengeParameters(String(header.dropFirst(6)))
    guard let realm = parameters["realm"], var components = URLComponents(string: realm) else { return false }
    var query = components.queryItems ?? []
    if let service = parameters["service"] { query.append(URLQueryItem(name: "service", value: service)) }
    query.append(URLQueryItem(name: "scope", value: parameters["scope"] ?? "repository:\(reference.repository):pull"))
    components.queryItems = query
    guard let url = components.url else { return false }
    var tokenRequest = URLRequest(url: url)
    if let credentials { tokenRequest.setValue("Basic " + credentials, forHTTPHeaderField: "Authorization") }
    let (data, tokenResponse) = try await perform { try await self.session.data(for: tokenRequest) }
    guard tokenResponse.statusCode == 200 else {
      throw HopsError(.unavailable, "the token service of \(reference.registry) answered \(tokenResponse.statusCode)", hint: Self.body(data))
    }
    struct Token: Decodable { var token: String?; var access_token: String? }
    guard let token = try? JSONDecoder().decode(Token.self, from: data), let value = token.token ?? token.access_token else {
      throw HopsError.failed("the token service of \(reference.registry) sent no token")
    }
    lock.withLock { tokens[reference.registry] = "Bearer " + value }
    return true
  }

  /// `realm="https://auth.docker.io/token",service="registry.docker.io",scope="…"`
  static func challengeParameters(_ text: String) -> [String: String] {
    var result: [String: String] = [:]
    var rest = Substring(text.trimmed)
    while let eq = rest.firstIndex(of: "=") {
      let key = rest[..<eq].trimmed.lowercased()
      rest = rest[rest.index(after: eq)...]
      var value = ""
      if rest.first == "\"" {
        rest = rest.dropFirst()
        let end = rest.firstIndex(of: "\"") ?? rest.endIndex
        value = String(rest[..<end])
        rest = end < rest.endIndex ? rest[rest.index(after: end)...] : ""
      } else {
        let end = rest.firstIndex(of: ",") ?? rest.endIndex
        value = String(rest[..<end])
        rest = rest[end...]
      }
      result[key] = value
      rest = rest.drop { $0 == "," || $0 == " " }
    }
    return result
  }

  /// base64 "user:password" from $DOCKER_CONFIG/config.json or ~/.docker/config.json.
  static func credentials(for registry: String) -> String? {
    let environment = ProcessInfo.processInfo.environment
    let directory = environment["DOCKER_CONFIG"] ?? ((environment["HOME"] ?? "/root") + "/.docker")
    struct Config: Decodable {
      struct Auth: Decodable { var auth: String? }
      var auths: [String: Auth]?
    }
    guard let data = FileManager.default.contents(atPath: directory + "/config.json"),
      let config = try? JSONDecoder().decode(Config.self, from: data), let auths = config.auths
    else { return nil }
    let keys = registry == ImageReference.defaultRegistry
      ? ["https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io"] : [registry, "https://" + registry, "http://" + registry]
    return keys.lazy.compactMap { auths[$0]?.auth }.first
  }

  static func sha256(_ data: Data) -> String {
    let hasher = SHA256Hasher()
    data.withUnsafeBytes { hasher.update($0) }
    return hasher.finish()
  }

  static func body(_ data: Data) -> String { String(decoding: data.prefix(300), as: UTF8.self).trimmed }

  static func formatSize(_ bytes: UInt64) -> String {
    bytes >= 1 << 20 ? "\(bytes >> 20) MiB" : bytes >= 1 << 10 ? "\(bytes >> 10) KiB" : "\(bytes) B"
  }
}
