import HopsCore
import TOMLKit

/// Reads a profile from TOML (the schema in DESIGN.md, which the original Hops'
/// files follow) and reports every problem at once: unknown keys, wrong types, bad
/// values, with the file and the key. Nothing is guessed: a key Hops does not know
/// is an error, not silently ignored.
public struct ProfileParser {
  public let file: String
  private var problems: [ProfileProblem] = []

  public init(file: String) { self.file = file }

  /// The profile, or every problem found in it.
  public static func parse(_ text: String, file: String, defaultName: String, origin: Profile.Origin, checkHostPaths: Bool = true, host: HostFacts = .current()) -> Result<Profile, ProfileErrors> {
    var parser = ProfileParser(file: file)
    return parser.run(text, defaultName: defaultName, origin: origin, checkHostPaths: checkHostPaths, host: host)
  }

  private mutating func run(_ text: String, defaultName: String, origin: Profile.Origin, checkHostPaths: Bool, host: HostFacts) -> Result<Profile, ProfileErrors> {
    let table: TOMLTable
    do {
      table = try TOMLTable(string: text)
    } catch let error as TOMLParseError {
      return .failure(ProfileErrors(problems: [
        ProfileProblem(file: file, key: nil, line: error.source.begin.line, message: "malformed TOML: \(error.description)")
      ]))
    } catch {
      return .failure(ProfileErrors(problems: [ProfileProblem(file: file, key: nil, message: "malformed TOML: \(error)")]))
    }

    var policy = Policy()
    var profile = Profile(name: defaultName, origin: origin, policy: policy)
    checkKeys(table, "", allowed: ["name", "version", "description", "image", "rootfs", "capabilities", "sandbox"])
    if let name = string(table, "name") { profile.name = name }
    profile.version = string(table, "version")
    profile.description = string(table, "description") ?? ""
    let image = string(table, "image")
    let rootfs = string(table, "rootfs")
    if let image, let rootfs, image != rootfs {
      add("rootfs", "both image = \"\(image)\" and rootfs = \"\(rootfs)\" are set; keep one")
    }
    if let chosen = rootfs ?? image { policy.rootfs = chosen }

    if let capabilities = subtable(table, "capabilities") {
      checkKeys(capabilities, "capabilities", allowed: ["network", "filesystem", "allowed_paths", "denied_paths", "resource_limits", "allow_net", "publish", "seccomp"])
      for text in strings(capabilities, "allow_net", in: "capabilities") ?? [] {
        do { policy.allowNet.append(try NetworkAllowance.parse(text)) } catch let error as HopsError {
          add("capabilities.allow_net", error.description)
        } catch {}
      }
      for text in strings(capabilities, "publish", in: "capabilities") ?? [] {
        do { policy.publish.append(try PortMapping.parse(text)) } catch let error as HopsError {
          add("capabilities.publish", error.description)
        } catch {}
      }
      if let network = string(capabilities, "network", in: "capabilities") {
        if let mode = NetworkMode(rawValue: network) { policy.network = mode } else {
          add("capabilities.network", "unknown network mode '\(network)' (allowed: \(NetworkMode.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
      }
      if let names = strings(capabilities, "filesystem", in: "capabilities") {
        var access: FilesystemAccess = []
        for name in names {
          if let one = FilesystemAccess.parse(name) { access.insert(one) } else {
            add("capabilities.filesystem", "unknown access '\(name)' (allowed: read, write, execute)")
          }
        }
        policy.filesystem = access
      }
      if let paths = strings(capabilities, "allowed_paths", in: "capabilities") { policy.allowedPaths = paths }
      if let paths = strings(capabilities, "denied_paths", in: "capabilities") { policy.deniedPaths = paths }
      if let limits = subtable(capabilities, "resource_limits", in: "capabilities") {
        parseLimits(limits, into: &policy.limits)
      }
      if let seccomp = subtable(capabilities, "seccomp", in: "capabilities") {
        parseSeccomp(seccomp, into: &policy.syscalls)
      }
    }

    if let sandbox = subtable(table, "sandbox") {
      checkKeys(sandbox, "sandbox", allowed: ["hostname", "working_directory", "root_path", "workspace_mode", "mounts", "environment"])
      if let hostname = string(sandbox, "hostname", in: "sandbox") { policy.hostname = hostname }
      if let directory = string(sandbox, "working_directory", in: "sandbox") { policy.workingDirectory = directory }
      // The original Hops' root_path: the sandbox's root is always "/" here.
      if let root = string(sandbox, "root_path", in: "sandbox"), root != "/" {
        add("sandbox.root_path", "only \"/\" is supported (the rootfs is chosen with image = ...)")
      }
      if let mode = string(sandbox, "workspace_mode", in: "sandbox") {
        if let parsed = WorkspaceMode(rawValue: mode) { policy.workspaceMode = parsed } else {
          add("sandbox.workspace_mode", "unknown mode '\(mode)' (allowed: rw, ro, overlay)")
        }
      }
      if let environment = subtable(sandbox, "environment", in: "sandbox") {
        for key in environment.keys.sorted() {
          guard let value = environment[key]?.string else {
            add("sandbox.environment.\(key)", "expected a string, found \(typeName(environment[key]))")
            continue
          }
          policy.setEnvironment(key, value)
        }
      }
      if let mounts = sandbox["mounts"] {
        if let array = mounts.array {
          for (index, item) in array.enumerated() {
            guard let entry = item.table else {
              add("sandbox.mounts[\(index)]", "expected a table ([[sandbox.mounts]]), found \(typeName(item))")
              continue
            }
            if let mount = parseMount(entry, key: "sandbox.mounts[\(index)]") { policy.mounts.append(mount) }
          }
        } else {
          add("sandbox.mounts", "expected an array of tables ([[sandbox.mounts]]), found \(typeName(mounts))")
        }
      }
    }

    if origin == .builtin {
      // Built-ins are written for a typical machine; on a smaller one they take
      // what the host has rather than becoming unusable.
      if let cpus = policy.limits.cpus { policy.limits.cpus = min(cpus, Double(host.cpus)) }
      if let memory = policy.limits.memoryBytes, host.memoryBytes > 0 { policy.limits.memoryBytes = min(memory, host.memoryBytes) }
    }
    for problem in policy.problems(host: host, checkHostPaths: checkHostPaths) where !problem.key.hasPrefix("network") {
      add(problem.key == "workspace" ? "sandbox.workspace_mode" : problem.key, problem.message)
    }
    profile.policy = policy
    return problems.isEmpty ? .success(profile) : .failure(ProfileErrors(problems: problems))
  }

  private mutating func parseSeccomp(_ table: TOMLTable, into filter: inout SyscallFilter) {
    let prefix = "capabilities.seccomp"
    checkKeys(table, prefix, allowed: ["profile", "allow", "deny", "setuid_bits"])
    if let value = table["setuid_bits"] {
      if let flag = value.bool { filter.setuidBits = flag } else {
        add(prefix + ".setuid_bits", "expected true or false, found \(typeName(value))")
      }
    }
    if let name = string(table, "profile", in: prefix) {
      if let mode = SyscallFilter.Mode(rawValue: name) { filter.mode = mode } else {
        add(prefix + ".profile", "unknown seccomp profile '\(name)' (allowed: \(SyscallFilter.Mode.allCases.map(\.rawValue).joined(separator: ", ")))")
      }
    }
    for key in ["allow", "deny"] {
      let names = strings(table, key, in: prefix) ?? []
      for name in names {
        do { try SyscallFilter.validateName(name) } catch let error as HopsError {
          add(prefix + "." + key, error.description)
        } catch {}
      }
      if key == "allow" { filter.allow = names } else { filter.deny = names }
    }
  }

  private mutating func parseLimits(_ table: TOMLTable, into limits: inout ResourceLimits) {
    let prefix = "capabilities.resource_limits"
    checkKeys(table, prefix, allowed: ["cpus", "memory_bytes", "max_processes", "timeout", "cpuset"])
    if let value = table["cpuset"] {
      if let text = value.string { limits.cpuset = text } else {
        add(prefix + ".cpuset", "expected a CPU list such as \"0-1\", found \(typeName(value))")
      }
    }
    if let value = table["timeout"] {
      if let int = value.int { limits.timeoutSeconds = Double(int) } else if let double = value.double {
        limits.timeoutSeconds = double
      } else if let text = value.string {
        do { limits.timeoutSeconds = try DurationText.parse(text) } catch let error as HopsError {
          add(prefix + ".timeout", error.description)
        } catch {}
      } else {
        add(prefix + ".timeout", "expected seconds (30) or a duration (\"30s\", \"5m\"), found \(typeName(value))")
      }
    }
    if let value = table["cpus"] {
      if let int = value.int { limits.cpus = Double(int) } else if let double = value.double { limits.cpus = double } else {
        add(prefix + ".cpus", "expected a number, found \(typeName(value))")
      }
    }
    if let value = table["memory_bytes"] {
      if let int = value.int {
        if int < 0 { add(prefix + ".memory_bytes", "must not be negative") } else { limits.memoryBytes = UInt64(int) }
      } else if let text = value.string {
        do { limits.memoryBytes = try ByteSize.parse(text) } catch let error as HopsError {
          add(prefix + ".memory_bytes", error.description)
        } catch {}
      } else {
        add(prefix + ".memory_bytes", "expected bytes (536870912) or a size (\"512M\"), found \(typeName(value))")
      }
    }
    if let value = table["max_processes"] {
      if let int = value.int { limits.maxProcesses = int } else {
        add(prefix + ".max_processes", "expected an integer, found \(typeName(value))")
      }
    }
  }

  private mutating func parseMount(_ table: TOMLTable, key: String) -> MountSpec? {
    checkKeys(table, key, allowed: ["source", "destination", "type", "mode", "options"])
    var kind = MountSpec.Kind.bind
    if let type = string(table, "type", in: key) {
      if let parsed = MountSpec.Kind(rawValue: type) { kind = parsed } else {
        add(key + ".type", "unknown mount type '\(type)' (allowed: bind, tmpfs, overlay)")
        return nil
      }
    }
    var readOnly = false
    if let mode = string(table, "mode", in: key) {
      switch mode {
      case "ro": readOnly = true
      case "rw": readOnly = false
      default: add(key + ".mode", "unknown mode '\(mode)' (allowed: ro, rw)")
      }
    }
    guard let destination = string(table, "destination", in: key) else {
      add(key + ".destination", "is required")
      return nil
    }
    let source = string(table, "source", in: key) ?? ""
    if kind != .tmpfs && source.isEmpty { add(key + ".source", "is required for a \(kind.rawValue) mount") }
    let options = strings(table, "options", in: key) ?? []
    return MountSpec(kind: kind, source: source, destination: destination, readOnly: readOnly, options: options)
  }

  // MARK: - Typed access with problems recorded

  private mutating func add(_ key: String?, _ message: String) {
    problems.append(ProfileProblem(file: file, key: key, message: message))
  }

  private mutating func checkKeys(_ table: TOMLTable, _ prefix: String, allowed: Set<String>) {
    for key in table.keys.sorted() where !allowed.contains(key) {
      add(prefix.isEmpty ? key : prefix + "." + key, "unknown key (known here: \(allowed.sorted().joined(separator: ", ")))")
    }
  }

  private mutating func string(_ table: TOMLTable, _ key: String, in prefix: String = "") -> String? {
    guard let value = table[key] else { return nil }
    guard let string = value.string else {
      add(join(prefix, key), "expected a string, found \(typeName(value))")
      return nil
    }
    return string
  }

  private mutating func strings(_ table: TOMLTable, _ key: String, in prefix: String) -> [String]? {
    guard let value = table[key] else { return nil }
    guard let array = value.array else {
      add(join(prefix, key), "expected an array of strings, found \(typeName(value))")
      return nil
    }
    var result: [String] = []
    for (index, item) in array.enumerated() {
      if let string = item.string { result.append(string) } else {
        add(join(prefix, key) + "[\(index)]", "expected a string, found \(typeName(item))")
      }
    }
    return result
  }

  private mutating func subtable(_ table: TOMLTable, _ key: String, in prefix: String = "") -> TOMLTable? {
    guard let value = table[key] else { return nil }
    guard let sub = value.table else {
      add(join(prefix, key), "expected a table, found \(typeName(value))")
      return nil
    }
    return sub
  }

  private func join(_ prefix: String, _ key: String) -> String { prefix.isEmpty ? key : prefix + "." + key }

  private func typeName(_ value: (any TOMLValueConvertible)?) -> String {
    guard let value else { return "nothing" }
    switch value.type {
    case .string: return "a string"
    case .int: return "an integer"
    case .double: return "a number"
    case .bool: return "a boolean"
    case .array: return "an array"
    case .table: return "a table"
    default: return "a date or time"
    }
  }
}

/// Every problem of one profile; thrown by the loader, listed by `profile validate`.
public struct ProfileErrors: Error, Sendable, CustomStringConvertible {
  public var problems: [ProfileProblem]
  public var description: String { problems.map(\.description).joined(separator: "\n") }
}
