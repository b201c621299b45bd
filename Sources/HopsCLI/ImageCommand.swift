import ArgumentParser
import FoundationEssentials
import Glibc
import HopsAPI
import HopsCore

/// `hops image import | ls | inspect | rm | prune`: OCI images in the store.
struct ImageCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "image",
    abstract: "Import, list, inspect and remove images.",
    subcommands: [ImagePull.self, ImageImport.self, ImageList.self, ImageInspect.self, ImageRemove.self, ImagePrune.self])
}

struct ImageImport: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "import", abstract: "Import an OCI image layout or a 'docker save' archive (a .tar).")

  @Argument(help: "The archive.")
  var archive: String

  @Option(help: "Name to give the image (default: the name the archive carries).")
  var name: String?

  @OptionGroup var daemon: DaemonOptions

  func run() async throws {
    try await reportingErrors {
      guard let resolved = realpath(archive, nil) else {
        throw HopsError.notFound("\(archive): \(String(cString: strerror(errno)))")
      }
      let path = String(cString: resolved)
      free(resolved)
      let connection = try daemon.connect()
      let request = Hops_V1_ImportImageRequest.with {
        $0.path = path
        $0.name = name ?? ""
      }
      let info = try await connection.withClient { client in
        try await client.importImage(request, options: DaemonConnection.callOptions)
      }
      print("imported \(info.names.map(ImageText.short).joined(separator: ", ")) \(info.digest)")
    }
  }
}

struct ImageList: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "ls", abstract: "List images and root filesystems.", aliases: ["list"])

  @OptionGroup var daemon: DaemonOptions

  func run() async throws {
    try await reportingErrors {
      let connection = try daemon.connect()
      let reply = try await connection.withClient { client in
        try await client.listImages(Hops_V1_ListImagesRequest(), options: DaemonConnection.callOptions)
      }
      var rows = [["NAME", "KIND", "DIGEST", "SIZE", "STORED"]]
      for image in reply.images {
        let names = image.names.isEmpty ? ["<none>"] : image.names
        for name in names {
          rows.append([
            ImageText.short(name), image.kind, image.digest.isEmpty ? "-" : String(image.digest.prefix(19)),
            UsageText.bytes(image.sizeBytes), Date(timeIntervalSince1970: image.storedAt).formatted(.iso8601),
          ])
        }
      }
      print(TableText.render(rows))
    }
  }
}

struct ImageInspect: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show an image's config: env, entrypoint, cmd, workdir, user, layers.")

  @Argument(help: "Image name or digest.")
  var reference: String

  @OptionGroup var daemon: DaemonOptions

  func run() async throws {
    try await reportingErrors {
      let connection = try daemon.connect()
      let reference = self.reference
      let info = try await connection.withClient { client in
        try await client.inspectImage(.with { $0.reference = reference }, options: DaemonConnection.callOptions)
      }
      struct Output: Encodable {
        var names: [String]
        var digest: String
        var created: String
        var platform: String
        var env: [String]
        var entrypoint: [String]
        var cmd: [String]
        var workingDir: String
        var user: String
        var layers: [String]
        var size: UInt64
      }
      let output = Output(
        names: info.names, digest: info.digest, created: info.created, platform: "\(info.os)/\(info.architecture)",
        env: info.env, entrypoint: info.entrypoint, cmd: info.cmd, workingDir: info.workingDir, user: info.user,
        layers: info.layers, size: info.sizeBytes)
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
      print(String(decoding: try encoder.encode(output), as: UTF8.self))
    }
  }
}

struct ImageRemove: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove an image name (the image goes with its last name).", aliases: ["remove"])

  @Argument(help: "Image name or digest.")
  var reference: String

  @OptionGroup var daemon: DaemonOptions

  func run() async throws {
    try await reportingErrors {
      let connection = try daemon.connect()
      let reference = self.reference
      let reply = try await connection.withClient { client in
        try await client.removeImage(.with { $0.reference = reference }, options: DaemonConnection.callOptions)
      }
      print(reply.removed ? "removed \(reference) (run 'hops image prune' to free its layers)" : "untagged \(reference)")
    }
  }
}

struct ImagePrune: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "prune", abstract: "Delete blobs and layers no image uses.")

  @OptionGroup var daemon: DaemonOptions

  func run() async throws {
    try await reportingErrors {
      let connection = try daemon.connect()
      let reply = try await connection.withClient { client in
        try await client.pruneImages(Hops_V1_PruneImagesRequest(), options: DaemonConnection.callOptions)
      }
      print("freed \(UsageText.bytes(reply.freedBytes))")
    }
  }
}

enum ImageText {
  /// `docker.io/library/alpine:3.20` as people write it: `alpine:3.20`.
  static func short(_ name: String) -> String {
    for prefix in ["docker.io/library/", "docker.io/"] where name.hasPrefix(prefix) { return String(name.dropFirst(prefix.count)) }
    return name
  }
}

struct ImagePull: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "pull", abstract: "Pull an image from an OCI registry (by tag or digest).")

  @Argument(help: "alpine:3.20, ghcr.io/owner/tool@sha256:…, localhost:5000/x:tag")
  var reference: String

  @Flag(name: .customLong("insecure-registry"), help: "Plain HTTP, for a registry on localhost (also HOPS_INSECURE_REGISTRIES on the daemon).")
  var insecure = false

  @OptionGroup var daemon: DaemonOptions

  func run() async throws {
    try await reportingErrors {
      let connection = try daemon.connect()
      let info = try await ImagePull.pull(reference, insecure: insecure, on: connection)
      print("pulled \(info.names.map(ImageText.short).joined(separator: ", ")) \(info.digest)")
    }
  }

  /// Streams the daemon's progress lines to stderr; returns the image.
  static func pull(_ reference: String, insecure: Bool, on connection: DaemonConnection) async throws -> Hops_V1_ImageInfo {
    let request = Hops_V1_PullImageRequest.with {
      $0.reference = reference
      $0.insecure = insecure
    }
    return try await connection.withClient { client in
      try await client.pullImage(request, options: DaemonConnection.callOptions) { response in
        var image: Hops_V1_ImageInfo?
        for try await message in response.messages {
          switch message.kind {
          case .message(let line): Console.error("  " + line)
          case .image(let info): image = info
          case nil: continue
          }
        }
        guard let image else { throw HopsError.failed("the pull ended without an image") }
        return image
      }
    }
  }
}
