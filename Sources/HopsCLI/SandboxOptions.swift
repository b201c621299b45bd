import ArgumentParser
import FoundationEssentials
import GRPCCore
import Glibc
import HopsAPI
import HopsCore
import HopsPolicy

/// The flags that shape a sandbox (profile, rootfs or image, network, limits,
/// workspace, environment), shared by `hops run` and `hops create`.
struct SandboxOptions: ParsableArguments {
  @Option(help: "Profile to start from (see 'hops profile list'; default: default).")
  var profile: String?

  @Option(name: [.customLong("policy-file"), .customLong("config")], help: "A profile file to start from instead of a named profile.")
  var policyFile: String?

  @Option(help: "Root filesystem to use (see 'hops rootfs list').")
  var rootfs: String?

  @Option(help: "Image to run (see 'hops image ls'; pulled first if missing); without a command, its entrypoint and cmd.")
  var image: String?

  @Flag(name: .customLong("insecure-registry"), help: "Pull over plain HTTP (a registry on localhost).")
  var insecureRegistry = false

  @Option(help: "Network mode: disabled, loopback, outbound, full.")
  var network: String?

  @Option(name: .customLong("allow-net"), help: "Open a destination (CIDR[:PORT]) in the outbound and full modes; repeatable.")
  var allowNet: [String] = []

  @Option(name: [.customShort("p"), .customLong("publish")], help: "Publish a port (HOSTPORT:SANDBOXPORT[/tcp|udp]) in the full mode; repeatable.")
  var publish: [String] = []

  @Option(help: "CPU limit; fractions allowed (0.5).")
  var cpus: String?

  @Option(help: "CPUs the sandbox may run on, e.g. 0-1 or 0,2.")
  var cpuset: String?

  @Option(help: "Memory limit: bytes or a size such as 512M or 1.5G.")
  var memory: String?

  @Option(help: "Limit on processes (and threads) in the sandbox.")
  var maxProcesses: Int?

  @Option(help: "Kill the whole sandbox after this long (30s, 5m, 1h, or seconds); the run exits 124.")
  var timeout: String?

  @Option(help: "How the workspace is shown: rw, ro, or overlay (writes discarded, host untouched).")
  var workspaceMode: String?

  @Option(name: [.short, .customLong("env")], help: "Set an environment variable (NAME=VALUE); repeatable.")
  var environment: [String] = []

  @Option(name: [.short, .customLong("workdir")], help: "Directory inside the sandbox to start in (default /workspace).")
  var workingDirectory: String?

  @Option(help: "Host name inside the sandbox.")
  var hostname: String?

  @Flag(help: "Keep the sandbox's files after the run and print where they are.")
  var keep = false

  func validate() throws {
    if image != nil && rootfs != nil {
      throw ValidationError("--image and --rootfs both given: use one")
    }
  }

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
  func describe(_ policy: Policy, profile: Profile, command: [String]) {
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

  /// `--image` names an image not in the store yet: pull it first, as Docker does.
  func pullIfMissing(_ image: String, on connection: DaemonConnection) async throws {
    let known = try await connection.withClient { client in
      try await client.listImages(Hops_V1_ListImagesRequest(), options: DaemonConnection.callOptions)
    }
    // A rootfs name, or any name or digest the store already has, needs no pull.
    if known.images.contains(where: { $0.kind == "rootfs" && $0.names.contains(image) }) { return }
    do {
      _ = try await connection.withClient { client in
        try await client.inspectImage(.with { $0.reference = image }, options: DaemonConnection.callOptions)
      }
    } catch let error as RPCError where error.code == .notFound {
      Console.error("hops: \(image) is not here yet; pulling it")
      _ = try await ImagePull.pull(image, insecure: insecureRegistry, on: connection)
    }
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
