import HopsCore

/// Writes a profile back as TOML, every key spelled out: what `profile show`
/// prints and `profile create` saves. The output parses back to the same policy.
public enum ProfileWriter {
  public static func toml(_ profile: Profile) -> String {
    let policy = profile.policy
    var lines: [String] = []
    lines.append("name = \(quote(profile.name))")
    if let version = profile.version { lines.append("version = \(quote(version))") }
    lines.append("description = \(quote(profile.description))")
    lines.append("image = \(quote(policy.rootfs))")
    lines.append("")
    lines.append("[capabilities]")
    lines.append("network = \(quote(policy.network.rawValue))")
    lines.append("filesystem = \(array(policy.filesystem.names))")
    lines.append("allowed_paths = \(array(policy.allowedPaths))")
    lines.append("denied_paths = \(array(policy.deniedPaths))")
    if !policy.allowNet.isEmpty { lines.append("allow_net = \(array(policy.allowNet.map(\.description)))") }
    if !policy.publish.isEmpty { lines.append("publish = \(array(policy.publish.map(\.description)))") }
    let limits = policy.limits
    if limits != ResourceLimits() {
      lines.append("")
      lines.append("[capabilities.resource_limits]")
      if let cpus = limits.cpus {
        lines.append("cpus = \(cpus == cpus.rounded() ? String(Int(cpus)) : String(cpus))")
      }
      if let memory = limits.memoryBytes { lines.append("memory_bytes = \(memory)  # \(ByteSize.format(memory))") }
      if let processes = limits.maxProcesses { lines.append("max_processes = \(processes)") }
      if let cpuset = limits.cpuset { lines.append("cpuset = \(quote(cpuset))") }
      if let timeout = limits.timeoutSeconds { lines.append("timeout = \(quote(DurationText.format(timeout)))") }
    }
    if policy.syscalls != SyscallFilter() {
      lines.append("")
      lines.append("[capabilities.seccomp]")
      lines.append("profile = \(quote(policy.syscalls.mode.rawValue))")
      if !policy.syscalls.allow.isEmpty { lines.append("allow = \(array(policy.syscalls.allow))") }
      if !policy.syscalls.deny.isEmpty { lines.append("deny = \(array(policy.syscalls.deny))") }
      if policy.syscalls.setuidBits { lines.append("setuid_bits = true") }
    }
    lines.append("")
    lines.append("[sandbox]")
    lines.append("hostname = \(quote(policy.hostname))")
    lines.append("working_directory = \(quote(policy.workingDirectory))")
    lines.append("workspace_mode = \(quote(policy.workspaceMode.rawValue))")
    lines.append("")
    lines.append("[sandbox.environment]")
    for (key, value) in policy.environment { lines.append("\(bareOrQuoted(key)) = \(quote(value))") }
    for mount in policy.mounts {
      lines.append("")
      lines.append("[[sandbox.mounts]]")
      lines.append("type = \(quote(mount.kind.rawValue))")
      if mount.kind != .tmpfs { lines.append("source = \(quote(mount.source))") }
      lines.append("destination = \(quote(mount.destination))")
      lines.append("mode = \(quote(mount.readOnly ? "ro" : "rw"))")
      if !mount.options.isEmpty { lines.append("options = \(array(mount.options))") }
    }
    return lines.joined(separator: "\n") + "\n"
  }

  /// A TOML basic string: its escapes are JSON's (see JSONText).
  static func quote(_ text: String) -> String { JSONText.quoted(text) }

  static func array(_ items: [String]) -> String { "[" + items.map(quote).joined(separator: ", ") + "]" }

  static func bareOrQuoted(_ key: String) -> String {
    let bare = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
    return !key.isEmpty && key.allSatisfy({ bare.contains($0) }) ? key : quote(key)
  }
}
