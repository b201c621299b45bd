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

  /// The flags as plain values.
  var settings: SandboxSettings {
    SandboxSettings(
      profile: profile, policyFile: policyFile, rootfs: rootfs, image: image, network: network, allowNet: allowNet,
      publish: publish, cpus: cpus, cpuset: cpuset, memory: memory, maxProcesses: maxProcesses, timeout: timeout,
      workspaceMode: workspaceMode, environment: environment, workingDirectory: workingDirectory, hostname: hostname,
      keep: keep)
  }

  func buildPolicy(path: String?, home: HopsHome) throws -> (Policy, Profile) {
    try settings.buildPolicy(path: path, home: home)
  }

  func describe(_ policy: Policy, profile: Profile, command: [String]) {
    SandboxSettings.describe(policy, profile: profile, command: command)
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
}
