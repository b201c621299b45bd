import Glibc

/// Where the host's cgroup controllers are, v1 or v2, read from mountinfo at
/// daemon start. A v1/v2 hybrid (v1 controllers plus an empty cgroup2, as on
/// many older hosts) counts as v1: the controllers are what matter.
public struct CgroupHierarchy: Sendable, Equatable {
  public enum Version: String, Sendable { case v1, v2 }

  public var version: Version
  /// v2: the cgroup2 mount point. v1: unused.
  public var unifiedRoot: String
  /// v1: controller name -> mount point (cpu and cpuacct may share one).
  public var controllerMounts: [String: String]

  /// The controllers Hops uses: memory (limit, OOM), cpu (quota), pids (processes);
  /// cpuacct gives CPU time on v1 (v2's cpu.stat has it).
  public static let wanted = ["memory", "cpu", "pids", "cpuset"]

  public init(version: Version, unifiedRoot: String = "", controllerMounts: [String: String] = [:]) {
    self.version = version
    self.unifiedRoot = unifiedRoot
    self.controllerMounts = controllerMounts
  }

  /// Parses /proc/self/mountinfo. Nil when no cgroup filesystem is mounted.
  public static func detect(mountinfo: String) -> CgroupHierarchy? {
    var v1: [String: String] = [:]
    var unified: String?
    for line in mountinfo.split(separator: "\n") {
      let halves = line.split(separator: " - ", maxSplits: 1)
      guard halves.count == 2 else { continue }
      let left = halves[0].split(separator: " ")
      let right = halves[1].split(separator: " ")
      guard left.count >= 5, right.count >= 3 else { continue }
      let mountPoint = String(left[4])
      switch right[0] {
      case "cgroup2":
        unified = unified ?? mountPoint
      case "cgroup":
        for option in right[2].split(separator: ",") where ["memory", "cpu", "cpuacct", "pids", "cpuset"].contains(String(option)) {
          v1[String(option)] = mountPoint
        }
      default: continue
      }
    }
    if !v1.isEmpty { return CgroupHierarchy(version: .v1, controllerMounts: v1) }
    if let unified { return CgroupHierarchy(version: .v2, unifiedRoot: unified) }
    return nil
  }

  public static func detect() -> CgroupHierarchy? {
    guard let text = try? readText("/proc/self/mountinfo") else { return nil }
    return detect(mountinfo: text)
  }

  /// Controllers this host offers among the wanted ones.
  public var available: [String] {
    switch version {
    case .v1: return Self.wanted.filter { controllerMounts[$0] != nil }
    case .v2:
      let listed = (try? readText(unifiedRoot + "/cgroup.controllers")) ?? ""
      let names = Set(listed.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
      return Self.wanted.filter { names.contains($0) }
    }
  }

  public var description: String {
    "cgroup \(version.rawValue) (\(available.isEmpty ? "no usable controllers" : available.joined(separator: ", ")))"
  }
}

/// Reads a whole (small) file, as cgroup and proc files are.
public func readText(_ path: String) throws(SyscallError) -> String {
  let fd = try syscall("open", path) { open(path, O_RDONLY | O_CLOEXEC) }
  defer { FD.close(fd) }
  var result: [UInt8] = []
  while true {
    let chunk = try FD.read(fd, max: 65536)
    if chunk.isEmpty { break }
    result += chunk
  }
  return String(decoding: result, as: UTF8.self)
}

/// Writes a value to a cgroup (or proc) file in one write(2), as the kernel wants.
public func writeText(_ path: String, _ value: String) throws(SyscallError) {
  let fd = try syscall("open", path) { open(path, O_WRONLY | O_CLOEXEC) }
  defer { FD.close(fd) }
  let bytes = Array(value.utf8)
  let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
  if n < 0 { throw SyscallError("write", errno: errno, detail: "\(value) > \(path)") }
}
