import FoundationEssentials
import HopsCore

extension SandboxSettings {
  /// The profile, with the flags on top, validated. The CLI builds it to show
  /// or send it; the daemon builds it for a direct run from what the client
  /// sent: the workspace already resolved, the policy file already read, and
  /// the client's TERM.
  public func buildPolicy(
    workspace: String, home: HopsHome, terminalType: String?, policyFile: PolicyFileText?
  ) throws -> (Policy, Profile) {
    if profile != nil && self.policyFile != nil {
      throw HopsError.invalid("--profile and --policy-file both given", hint: "use one of them")
    }
    if let path = self.policyFile, policyFile == nil {
      throw HopsError.invalid("the policy file \(path) did not come with the request", hint: "its reader sends its text")
    }
    let profile = try policyFile.map { try ProfileStore.load($0) } ?? ProfileStore(home: home).load(self.profile ?? "default")
    var policy = profile.policy
    policy.workspace = workspace
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
    if let terminalType { policy.setEnvironment("TERM", terminalType) }
    policy.setEnvironment("HOSTNAME", policy.hostname)
    for assignment in environment {
      let (key, value) = try Policy.parseEnvironmentAssignment(assignment)
      policy.setEnvironment(key, value)
    }
    try policy.validate()
    return (policy, profile)
  }
}
