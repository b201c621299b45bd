import Glibc

/// What the sandbox flags of `hops run` and `hops create` say, as plain values:
/// ArgumentParser (the CLI's SandboxOptions) reads them into this, the `hops`
/// front (CFront) writes the same as a direct run's JSON, a direct run
/// carries it to the daemon as it is, and HopsPolicy makes the policy from it
/// on top of a profile.
public struct SandboxSettings: Equatable, Codable, Sendable {
  public var profile: String?
  public var policyFile: String?
  public var rootfs: String?
  public var image: String?
  public var network: String?
  public var allowNet: [String] = []
  public var publish: [String] = []
  public var cpus: String?
  public var cpuset: String?
  public var memory: String?
  public var maxProcesses: Int?
  public var timeout: String?
  public var workspaceMode: String?
  public var environment: [String] = []
  public var workingDirectory: String?
  public var hostname: String?
  public var keep = false

  public init(
    profile: String? = nil, policyFile: String? = nil, rootfs: String? = nil, image: String? = nil,
    network: String? = nil, allowNet: [String] = [], publish: [String] = [], cpus: String? = nil,
    cpuset: String? = nil, memory: String? = nil, maxProcesses: Int? = nil, timeout: String? = nil,
    workspaceMode: String? = nil, environment: [String] = [], workingDirectory: String? = nil,
    hostname: String? = nil, keep: Bool = false
  ) {
    self.profile = profile
    self.policyFile = policyFile
    self.rootfs = rootfs
    self.image = image
    self.network = network
    self.allowNet = allowNet
    self.publish = publish
    self.cpus = cpus
    self.cpuset = cpuset
    self.memory = memory
    self.maxProcesses = maxProcesses
    self.timeout = timeout
    self.workspaceMode = workspaceMode
    self.environment = environment
    self.workingDirectory = workingDirectory
    self.hostname = hostname
    self.keep = keep
  }

  /// Resolves PATH to an absolute, symlink-free directory on the host. The
  /// client does this, in its own directory and with its own rights: the
  /// daemon only ever gets the result.
  public static func absoluteDirectory(_ path: String) throws -> String {
    guard let resolved = realpath(path, nil) else {
      throw HopsError.notFound("workspace \(path): \(String(cString: strerror(errno)))", hint: "give an existing directory")
    }
    defer { free(resolved) }
    let result = String(cString: resolved)
    var info = stat()
    guard stat(result, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
      throw HopsError.invalid("workspace \(path) is not a directory")
    }
    return result
  }
}

/// A policy file (`--policy-file`) as the client read it: the daemon never
/// opens a path a client names.
public struct PolicyFileText: Equatable, Codable, Sendable {
  public var path: String
  public var text: String

  public init(path: String, text: String) {
    self.path = path
    self.text = text
  }

  /// Reads PATH as the calling user.
  public static func read(_ path: String) throws -> PolicyFileText {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
      throw HopsError.notFound("cannot read profile \(path): \(String(cString: strerror(errno)))")
    }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
      let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
      if n < 0 && errno == EINTR { continue }
      guard n >= 0 else { throw HopsError.failed("cannot read profile file \(path): \(String(cString: strerror(errno)))") }
      if n == 0 { break }
      bytes += chunk[..<n]
      guard bytes.count <= maximumBytes else {
        throw HopsError.invalid("profile file \(path) is over \(maximumBytes / 1024) KiB", hint: "a profile is a short TOML file")
      }
    }
    return PolicyFileText(path: path, text: String(decoding: bytes, as: UTF8.self))
  }

  public static let maximumBytes = 1 << 20
}
