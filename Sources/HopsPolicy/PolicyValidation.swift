import Glibc
import HopsCore
import Synchronization

/// One thing wrong with a policy: the profile key it came from and why.
public struct PolicyProblem: Sendable, Equatable, CustomStringConvertible {
  public var key: String
  public var message: String
  public init(key: String, message: String) {
    self.key = key
    self.message = message
  }
  public var description: String { "\(key): \(message)" }
}

/// What the host has, for limits that must not exceed it.
public struct HostFacts: Sendable, Equatable {
  public var cpus: Int
  public var memoryBytes: UInt64

  public init(cpus: Int, memoryBytes: UInt64) {
    self.cpus = cpus
    self.memoryBytes = memoryBytes
  }

  /// Read again at most once a second: a run asks three times (its checks,
  /// its profile, its layers' size), each a file read and a sysinfo call,
  /// and CPUs and memory come and go far more rarely than that.
  public static func current() -> HostFacts {
    let now = ContinuousClock.now
    if let (facts, at) = cache.withLock({ $0 }), now - at < .seconds(1) { return facts }
    let cpus = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    let pages = max(0, sysconf(Int32(_SC_PHYS_PAGES)))
    let pageSize = max(0, sysconf(Int32(_SC_PAGESIZE)))
    let facts = HostFacts(cpus: cpus, memoryBytes: UInt64(pages) * UInt64(pageSize))
    cache.withLock { $0 = (facts, now) }
    return facts
  }

  private static let cache = Mutex<(HostFacts, ContinuousClock.Instant)?>(nil)
}

extension Policy {
  /// Throws every problem at once, one per line.
  public func validate(host: HostFacts = .current()) throws {
    let found = problems(host: host)
    guard !found.isEmpty else { return }
    if let unavailable = found.first(where: { $0.key == "network" && $0.message.contains("not supported") }), found.count == 1 {
      throw HopsError(.unavailable, unavailable.message, hint: "use --network \(NetworkMode.implemented.map(\.rawValue).sorted().joined(separator: " or --network "))")
    }
    throw HopsError.invalid(found.map(\.description).joined(separator: "\n"))
  }

  /// Everything that can be checked before anything starts, with the profile key
  /// each problem belongs to.
  public func problems(host: HostFacts = .current(), checkHostPaths: Bool = true) -> [PolicyProblem] {
    var problems: [PolicyProblem] = []
    func add(_ key: String, _ message: String) { problems.append(PolicyProblem(key: key, message: message)) }

    if !NetworkMode.implemented.contains(network) {
      add("network", "network mode '\(network.rawValue)' is not supported by this build yet")
    }
    if !allowNet.isEmpty && ![.outbound, .full].contains(network) {
      add("capabilities.allow_net", "opening destinations needs network \"outbound\" or \"full\" (the mode is \"\(network.rawValue)\")")
    }
    if !publish.isEmpty && network != .full {
      add("capabilities.publish", "publishing ports needs network \"full\" (the mode is \"\(network.rawValue)\")")
    }
    var hostPorts = Set<String>()
    for mapping in publish where !hostPorts.insert("\(mapping.hostPort)/\(mapping.proto.rawValue)").inserted {
      add("capabilities.publish", "host port \(mapping.hostPort)/\(mapping.proto.rawValue) is published twice")
    }
    if let error = catching({ try Policy.validateImageName(rootfs) }) { add("image", error.description) }
    if let error = catching({ try Policy.validateHostname(hostname) }) { add("sandbox.hostname", error.description) }
    if !workingDirectory.hasPrefix("/") {
      add("sandbox.working_directory", "'\(workingDirectory)' is not an absolute path")
    }
    if let workspace, !workspace.hasPrefix("/") {
      add("workspace", "'\(workspace)' is not an absolute path")
    }
    var seen = Set<String>()
    for (key, value) in environment {
      if key.isEmpty || key.contains("=") || key.contains("\0") || value.contains("\0") {
        add("sandbox.environment", "invalid variable name '\(key)' (use NAME=VALUE with a non-empty NAME)")
      } else if !seen.insert(key).inserted {
        add("sandbox.environment", "'\(key)' is set twice")
      }
    }
    for path in allowedPaths {
      if let reason = Policy.pathProblem(path) {
        add("capabilities.allowed_paths", "'\(path)' \(reason)")
      } else if let reason = Policy.coversKernelPath(path) {
        add("capabilities.allowed_paths", "'\(path)' \(reason)")
      } else if checkHostPaths && !Policy.hostPathExists(path) {
        add("capabilities.allowed_paths", "'\(path)' does not exist on this host")
      }
    }
    for path in deniedPaths {
      if let reason = Policy.pathProblem(path) { add("capabilities.denied_paths", "'\(path)' \(reason)") }
      if path == "/" { add("capabilities.denied_paths", "'/' would hide everything") }
    }
    for (index, mount) in mounts.enumerated() {
      let key = "sandbox.mounts[\(index)]"
      if let reason = Policy.pathProblem(mount.destination) {
        add(key + ".destination", "'\(mount.destination)' \(reason)")
      } else if let reason = Policy.coversKernelPath(mount.destination) {
        add(key + ".destination", "'\(mount.destination)' \(reason)")
      }
      switch mount.kind {
      case .bind, .overlay:
        if let reason = Policy.pathProblem(mount.source) {
          add(key + ".source", "'\(mount.source)' \(reason)")
        } else if checkHostPaths && !Policy.hostPathExists(mount.source) {
          add(key + ".source", "'\(mount.source)' does not exist on this host")
        } else if checkHostPaths && mount.kind == .overlay && !Policy.hostDirectoryExists(mount.source) {
          add(key + ".source", "'\(mount.source)' must be a directory for an overlay mount")
        }
        if !mount.options.isEmpty {
          add(key + ".options", "options are only for tmpfs mounts")
        }
      case .tmpfs:
        for option in mount.options {
          let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
          guard parts.count == 2, MountSpec.tmpfsOptionKeys.contains(parts[0]) else {
            add(key + ".options", "unknown tmpfs option '\(option)' (allowed: \(MountSpec.tmpfsOptionKeys.sorted().joined(separator: ", ")), as key=value)")
            continue
          }
          if parts[0] == "size", (try? ByteSize.parse(parts[1])) == nil, !(parts[1].hasSuffix("%") && Int(parts[1].dropLast()) != nil) {
            add(key + ".options", "invalid tmpfs size '\(parts[1])'")
          }
          if parts[0] == "mode", UInt32(parts[1], radix: 8) == nil {
            add(key + ".options", "invalid tmpfs mode '\(parts[1])' (octal, e.g. 1777)")
          }
        }
      }
    }
    for (key, message) in limits.problems(hostCPUs: host.cpus, hostMemory: host.memoryBytes) {
      add("capabilities.resource_limits." + key, message)
    }
    return problems
  }

  /// Absolute, normalized, no NUL.
  static func pathProblem(_ path: String) -> String? {
    if !path.hasPrefix("/") { return "is not an absolute path" }
    if path.contains("\0") { return "contains a NUL byte" }
    let parts = path.split(separator: "/")
    if parts.contains("..") || parts.contains(".") { return "must not contain '.' or '..' components" }
    return nil
  }

  /// Mounting on these would hide what the sandbox itself needs, or the whole root.
  static func coversKernelPath(_ path: String) -> String? {
    let normalized = "/" + path.split(separator: "/").joined(separator: "/")
    if normalized == "/" { return "would cover the root of the sandbox" }
    for kernel in ["/proc", "/sys", "/dev"] where normalized == kernel || normalized.hasPrefix(kernel + "/") {
      return "would cover \(kernel), which Hops sets up itself"
    }
    return nil
  }

  static func hostPathExists(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0
  }

  static func hostDirectoryExists(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
  }

  /// Names of rootfs and sandboxes: short, no path separators, no leading dot.
  public static func validateName(_ name: String, what: String) throws {
    let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
    guard !name.isEmpty, name.count <= 64, !name.hasPrefix("."), !name.hasPrefix("-"),
      name.allSatisfy({ allowed.contains($0) })
    else {
      throw HopsError.invalid(
        "invalid \(what) name '\(name)'",
        hint: "use 1 to 64 letters, digits, '.', '_' or '-', not starting with '.' or '-'")
    }
  }

  /// What `image =` / `--image` / `--rootfs` may hold: a rootfs name or an image
  /// reference (`alpine:3.20`, `ghcr.io/o/t@sha256:…`).
  public static func validateImageName(_ name: String) throws {
    let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/:@")
    guard !name.isEmpty, name.count <= 512, !name.hasPrefix("."), !name.hasPrefix("-"), !name.hasPrefix("/"),
      name.allSatisfy({ allowed.contains($0) }), !name.split(separator: "/").contains("..")
    else {
      throw HopsError.invalid("invalid image or rootfs name '\(name)'", hint: "a rootfs name (hops rootfs list) or an image reference such as alpine:3.20")
    }
  }

  /// RFC 1123 host names: labels of letters, digits and '-', at most 63 characters.
  public static func validateHostname(_ name: String) throws {
    let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.")
    guard !name.isEmpty, name.count <= 63, name.allSatisfy({ allowed.contains($0) }),
      !name.hasPrefix("-"), !name.hasPrefix(".")
    else {
      throw HopsError.invalid(
        "invalid hostname '\(name)'", hint: "use up to 63 letters, digits, '-' and '.'")
    }
  }

  /// Parses `NAME=VALUE` as given to `--env`. A bare `NAME` is refused: unlike Docker,
  /// Hops never copies a variable from the caller's environment implicitly.
  public static func parseEnvironmentAssignment(_ text: String) throws -> (key: String, value: String) {
    guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
      throw HopsError.invalid("invalid --env '\(text)'", hint: "write NAME=VALUE")
    }
    return (String(text[..<eq]), String(text[text.index(after: eq)...]))
  }
}

private func catching(_ body: () throws -> Void) -> HopsError? {
  do { try body() } catch let error as HopsError { return error } catch { return HopsError.invalid("\(error)") }
  return nil
}
