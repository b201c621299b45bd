import FoundationEssentials
import Glibc
import HopsCore
import HopsPolicy

/// What the sandbox flags of `hops run` and `hops create` say, as plain values
/// (SandboxOptions parses them with ArgumentParser, QuickRun without), and the
/// policy they make on top of a profile.
struct SandboxSettings: Equatable {
  var profile: String?
  var policyFile: String?
  var rootfs: String?
  var image: String?
  var network: String?
  var allowNet: [String] = []
  var publish: [String] = []
  var cpus: String?
  var cpuset: String?
  var memory: String?
  var maxProcesses: Int?
  var timeout: String?
  var workspaceMode: String?
  var environment: [String] = []
  var workingDirectory: String?
  var hostname: String?
  var keep = false

  /// The profile, with the flags on top, validated here so mistakes are caught
  /// before any daemon work.
  func buildPolicy(path: String?, home: HopsHome) throws -> (Policy, Profile) {
    if profile != nil && policyFile != nil {
      throw HopsError.invalid("--profile and --policy-file both given", hint: "use one of them")
    }
    let profile = try policyFile.map { try ProfileStore.load(file: $0) } ?? ProfileStore(home: home).load(self.profile ?? "default")
    var policy = profile.policy
    policy.workspace = try Self.absoluteDirectory(path ?? ".")
    if let rootfs { policy.rootfs = rootfs }
    if let image { policy.rootfs = image }
    if policy.rootfs == "alpine" && !FileManager.default.fileExists(atPath: home.rootfs(named: "alpine")) {
      // The original Hops had one image, Alpine: its profiles say image = "alpine".
      policy.rootfs = Policy.defaultRootfs
    }
    if let network { policy.network = try NetworkMode.parse(network) }
    policy.allowNet += try allowNet.map(NetworkAllowance.parse)
    policy.publish += try publish.map(PortMapping.parse)
    if let hostname { policy.hostname = hostname }
    if let workingDirectory { policy.workingDirectory = workingDirectory }
    if let workspaceMode { policy.workspaceMode = try WorkspaceMode.parse(workspaceMode) }
    if let cpus {
      guard let value = Double(cpus), value.isFinite else {
        throw HopsError.invalid("invalid --cpus '\(cpus)'", hint: "give a number of CPUs, e.g. 2 or 0.5")
      }
      policy.limits.cpus = value
    }
    if let memory { policy.limits.memoryBytes = try ByteSize.parse(memory) }
    if let maxProcesses { policy.limits.maxProcesses = maxProcesses }
    if let timeout { policy.limits.timeoutSeconds = try DurationText.parse(timeout) }
    if let cpuset { policy.limits.cpuset = cpuset }
    policy.keep = keep
    if let term = getenv("TERM").map({ String(cString: $0) }) { policy.setEnvironment("TERM", term) }
    policy.setEnvironment("HOSTNAME", policy.hostname)
    for assignment in environment {
      let (key, value) = try Policy.parseEnvironmentAssignment(assignment)
      policy.setEnvironment(key, value)
    }
    try policy.validate()
    return (policy, profile)
  }

  /// The original Hops' --verbose preamble, on stderr so stdout stays the command's.
  static func describe(_ policy: Policy, profile: Profile, command: [String]) {
    let limits = policy.limits
    let limitText = [
      limits.cpus.map { "\($0 == $0.rounded() ? String(Int($0)) : String($0)) CPUs" },
      limits.memoryBytes.map { ByteSize.format($0) + " memory" },
      limits.maxProcesses.map { "\($0) processes" },
      limits.cpuset.map { "CPU set " + $0 },
      limits.timeoutSeconds.map { "timeout " + DurationText.format($0) },
    ].compactMap { $0 }.joined(separator: ", ")
    Console.error("""
      Hops: Preparing sandbox environment...
        Root: \(policy.workspace ?? "(none)") (\(policy.workspaceMode.rawValue))
        Profile: \(profile.name) (\(profile.origin.description))
        Rootfs: \(policy.rootfs)
        Command: \(command.joined(separator: " "))
        Network: \(policy.network.rawValue)\(policy.allowNet.isEmpty ? "" : ", allowed " + policy.allowNet.map(\.description).joined(separator: ", "))\(policy.publish.isEmpty ? "" : ", published " + policy.publish.map(\.description).joined(separator: ", "))
        Limits: \(limitText.isEmpty ? "none" : limitText)
      """)
  }

  /// Resolves PATH to an absolute, symlink-free directory on the host.
  static func absoluteDirectory(_ path: String) throws -> String {
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
