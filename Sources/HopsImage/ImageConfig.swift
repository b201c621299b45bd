import FoundationEssentials

/// The parts of an OCI/Docker image config that decide how a sandbox runs.
public struct ImageConfig: Codable, Sendable, Equatable {
  public var env: [String] = []
  public var entrypoint: [String] = []
  public var cmd: [String] = []
  public var workingDir: String = ""
  public var user: String = ""
  public var architecture: String = ""
  public var os: String = ""
  public var created: String = ""
  /// Layer diff IDs, bottom first.
  public var diffIDs: [String] = []

  public init() {}

  /// Reads an image config blob (application/vnd.oci.image.config.v1+json or
  /// Docker's container config).
  public static func parse(_ data: Data) throws -> ImageConfig {
    struct Raw: Decodable {
      struct Inner: Decodable {
        var Env: [String]?
        var Entrypoint: [String]?
        var Cmd: [String]?
        var WorkingDir: String?
        var User: String?
      }
      struct RootFS: Decodable { var diff_ids: [String]? }
      var config: Inner?
      var architecture: String?
      var os: String?
      var created: String?
      var rootfs: RootFS?
    }
    let raw = try JSONDecoder().decode(Raw.self, from: data)
    var config = ImageConfig()
    config.env = raw.config?.Env ?? []
    config.entrypoint = raw.config?.Entrypoint ?? []
    config.cmd = raw.config?.Cmd ?? []
    config.workingDir = raw.config?.WorkingDir ?? ""
    config.user = raw.config?.User ?? ""
    config.architecture = raw.architecture ?? ""
    config.os = raw.os ?? ""
    config.created = raw.created ?? ""
    config.diffIDs = raw.rootfs?.diff_ids ?? []
    return config
  }
}
