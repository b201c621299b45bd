import Glibc
import HopsCore
import HopsPolicy

/// The policy as the CLI builds it, in its own directory and with its own
/// rights: for `hops create`, for runs that go through gRPC, and to show it
/// (`--verbose`). Direct runs leave this to the daemon (see CFront).
extension SandboxSettings {
  func buildPolicy(path: String?, home: HopsHome) throws -> (Policy, Profile) {
    try buildPolicy(
      workspace: Self.absoluteDirectory(path ?? "."), home: home,
      terminalType: getenv("TERM").map { String(cString: $0) },
      policyFile: policyFile.map(PolicyFileText.read))
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
}
