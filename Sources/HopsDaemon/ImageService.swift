import FoundationEssentials
import GRPCCore
import HopsAPI
import HopsCore
import HopsImage
import HopsOS

/// The image calls of the service: thin adapters over the image store.
extension HopsService {
  func importImage(request: Hops_V1_ImportImageRequest, context: ServerContext) async throws -> Hops_V1_ImageInfo {
    try await mappingErrors {
      guard request.path.hasPrefix("/") else { throw HopsError.invalid("'\(request.path)' must be an absolute path") }
      let importer = ImageImporter(store: images)
      let path = request.path
      let name = request.name.isEmpty ? nil : request.name
      let record = try await offloaded { try importer.importArchive(path, name: name) }
      logger.info("imported image", metadata: ["names": "\(record.names)", "digest": "\(record.digest)"])
      return .init(record)
    }
  }

  func listImages(request: Hops_V1_ListImagesRequest, context: ServerContext) async throws -> Hops_V1_ListImagesReply {
    let rootfs = setup.store.list().map { info in
      Hops_V1_ImageInfo.with {
        $0.kind = "rootfs"
        $0.names = [info.name]
        $0.digest = ""
        $0.storedAt = info.createdAt
        $0.sizeBytes = info.sizeBytes
      }
    }
    return .with { $0.images = images.images().map { .init($0) } + rootfs }
  }

  func inspectImage(request: Hops_V1_InspectImageRequest, context: ServerContext) async throws -> Hops_V1_ImageInfo {
    try await mappingErrors { .init(try images.find(request.reference)) }
  }

  func removeImage(request: Hops_V1_RemoveImageRequest, context: ServerContext) async throws -> Hops_V1_RemoveImageReply {
    try await mappingErrors {
      let store = images
      let record = try store.remove(request.reference)
      let gone = (try? store.find(record.digest)) == nil
      logger.info("removed image name", metadata: ["reference": "\(request.reference)", "image gone": "\(gone)"])
      return .with { $0.removed = gone }
    }
  }

  func pruneImages(request: Hops_V1_PruneImagesRequest, context: ServerContext) async throws -> Hops_V1_PruneImagesReply {
    try await mappingErrors {
      let store = images
      let inUse = Set(registry.all.flatMap(\.lowerDirs))
      let freed = try await offloaded { try store.prune(inUse: inUse) }
      return .with { $0.freedBytes = freed }
    }
  }
}

extension Hops_V1_ImageInfo {
  init(_ record: ImageRecord) {
    self = .with {
      $0.kind = "image"
      $0.names = record.names
      $0.digest = record.digest
      $0.storedAt = record.storedAt
      $0.sizeBytes = record.size
      $0.layers = record.layers
      $0.env = record.config.env
      $0.entrypoint = record.config.entrypoint
      $0.cmd = record.config.cmd
      $0.workingDir = record.config.workingDir
      $0.user = record.config.user
      $0.architecture = record.config.architecture
      $0.os = record.config.os
      $0.created = record.config.created
    }
  }
}

extension HopsService {
  func pullImage(
    request: Hops_V1_PullImageRequest, response: RPCWriter<Hops_V1_PullProgress>, context: ServerContext
  ) async throws {
    try await mappingErrors {
      let client = RegistryClient(store: images, insecure: request.insecure)
      let (lines, sink) = AsyncStream<String>.makeStream()
      async let record = client.pull(request.reference) { sink.yield($0) }
      // Progress goes out as it comes; the pull's own task finishes the stream.
      let forward = Task {
        for await line in lines { try? await response.write(.with { $0.message = line }) }
      }
      let pulled: ImageRecord
      do { pulled = try await record } catch {
        sink.finish()
        await forward.value
        throw error
      }
      sink.finish()
      await forward.value
      logger.info("pulled image", metadata: ["names": "\(pulled.names)", "digest": "\(pulled.digest)"])
      try await response.write(.with { $0.image = .init(pulled) })
    }
  }
}
