import CHops
import Glibc
import Synchronization
import HopsCore

/// Limits as the kernel takes them.
public struct CgroupLimits: Sendable, Equatable {
  public var memoryBytes: UInt64?
  /// CPU bandwidth: `quota` microseconds of CPU time per `period`.
  public var cpuQuotaMicros: Int?
  public var cpuPeriodMicros: Int = 100_000
  public var maxProcesses: Int?
  /// CPUs to run on ("0-1").
  public var cpuset: String?

  public init(memoryBytes: UInt64? = nil, cpus: Double? = nil, maxProcesses: Int? = nil, cpuset: String? = nil) {
    self.memoryBytes = memoryBytes
    self.cpuQuotaMicros = cpus.map { max(1000, Int(($0 * 100_000).rounded())) }
    self.maxProcesses = maxProcesses
    self.cpuset = cpuset
  }
}

/// What a sandbox has used, read from its cgroup.
public struct CgroupUsage: Sendable, Equatable {
  public var cpuNanos: UInt64 = 0
  public var memoryBytes: UInt64 = 0
  public var peakMemoryBytes: UInt64 = 0
  public var processes: Int = 0
  public var peakProcesses: Int = 0
  /// Processes the kernel's OOM killer killed in this cgroup.
  public var oomKills: Int = 0

  public init() {}
}

/// One sandbox's cgroup: `hops/<id>` under each controller (v1) or under the
/// unified root (v2). Created with its limits before the sandbox runs any code,
/// removed after its last process is gone.
public final class SandboxCgroup: Sendable {
  public let hierarchy: CgroupHierarchy
  public let name: String
  /// The cgroup's directory per controller; on v2 one directory for all.
  public let directories: [String: String]

  public static let parentName = "hops"

  /// Parent sets this process has prepared (see create).
  private static let preparedParents = Mutex<Set<String>>([])

  /// The limits written so far (see apply).
  private let applied = Mutex(CgroupLimits())

  /// `withCpuset`: on v1 a cpuset cgroup cannot take a process until its CPUs
  /// and memory nodes are written, so it is joined only when a cpuset is asked for.
  public init(hierarchy: CgroupHierarchy, name: String, withCpuset: Bool = false) {
    self.hierarchy = hierarchy
    self.name = name
    switch hierarchy.version {
    case .v2:
      let path = hierarchy.unifiedRoot + "/" + Self.parentName + "/" + name
      directories = ["memory": path, "cpu": path, "pids": path, "cpuacct": path, "cpuset": path]
    case .v1:
      var paths: [String: String] = [:]
      for (controller, mount) in hierarchy.controllerMounts where controller != "cpuset" || withCpuset {
        paths[controller] = mount + "/" + Self.parentName + "/" + name
      }
      directories = paths
    }
  }

  /// Distinct directories (cpu and cpuacct may share a v1 mount).
  public var uniqueDirectories: [String] { Array(Set(directories.values)).sorted() }

  /// The extended attributes that say which Hops home a sandbox's cgroup
  /// belongs to (their value: the home's path). Other daemons, of other homes,
  /// share the parent; a run thrown away at its exit has nothing else on the
  /// host that names it, so after a crash the next daemon finds what is left
  /// of it by this mark (CrashRecovery). Kernfs keeps trusted.* attributes on
  /// v1 and v2 alike, and only root of the host may read or write them; where
  /// the daemon is not that (root in a container's user namespace), v2's
  /// user.* attribute (Linux 5.7) stands in. Without either, the sandbox runs
  /// unmarked: only a crash of its daemon would then leave its cgroup behind.
  static let ownerAttributes = ["trusted.hops.home", "user.hops.home"]

  /// The directory that carries the mark: on v1 one hierarchy's (the same one
  /// at every start on a host, so `owned` finds it), on v2 the only one.
  var markedDirectory: String? {
    hierarchy.version == .v2 ? directories["memory"] : Self.markedController(hierarchy).flatMap { directories[$0] }
  }

  static func markedController(_ hierarchy: CgroupHierarchy) -> String? {
    ["pids", "memory", "cpu", "cpuacct"].first { hierarchy.controllerMounts[$0] != nil }
  }

  /// The names of the cgroups under Hops' parent that carry `owner`'s mark.
  public static func owned(by owner: String, in hierarchy: CgroupHierarchy) -> [String] {
    let parent: String
    switch hierarchy.version {
    case .v2: parent = hierarchy.unifiedRoot + "/" + parentName
    case .v1:
      guard let controller = markedController(hierarchy) else { return [] }
      parent = hierarchy.controllerMounts[controller]! + "/" + parentName
    }
    guard let directory = opendir(parent) else { return [] }
    defer { closedir(directory) }
    var names: [String] = []
    var value = [UInt8](repeating: 0, count: 4096)
    while let entry = readdir(directory) {
      guard entry.pointee.d_type == UInt8(DT_DIR) else { continue }
      let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
      guard name != "." && name != ".." else { continue }
      for attribute in ownerAttributes {
        let length = getxattr(parent + "/" + name, attribute, &value, value.count)
        if length >= 0 {
          if String(decoding: value[..<length], as: UTF8.self) == owner { names.append(name) }
          break
        }
      }
    }
    return names
  }

  /// Makes the parent (once) and this cgroup, and writes the limits; with
  /// `owner`, marks it as that home's (see ownerAttributes).
  public func create(limits: CgroupLimits, owner: String? = nil) throws(SyscallError) {
    // Once per process and set of parents: on v2 preparing writes the root's
    // and the parent's subtree_control, which take the cgroup lock.
    let parents = uniqueDirectories.map { String($0[..<($0.lastIndex(of: "/") ?? $0.endIndex)]) }.joined(separator: ":")
    if !Self.preparedParents.withLock({ $0.contains(parents) }) {
      try prepareParent()
      Self.preparedParents.withLock { _ = $0.insert(parents) }
    }
    for directory in uniqueDirectories where mkdir(directory, 0o755) != 0 && errno != EEXIST {
      // A parent removed since (by hand): made again.
      guard errno == ENOENT else { throw SyscallError("mkdir", errno: errno, detail: directory) }
      try prepareParent()
      if mkdir(directory, 0o755) != 0 && errno != EEXIST { throw SyscallError("mkdir", errno: errno, detail: directory) }
    }
    do {
      if let owner, let marked = markedDirectory {
        _ = Self.ownerAttributes.first { setxattr(marked, $0, owner, owner.utf8.count, 0) == 0 }
      }
      do {
        try apply(limits)
      } catch where error.errno == ENOENT {
        // A parent made again by someone else, without our controllers
        // enabled (v2): prepared again, once.
        try prepareParent()
        try apply(limits)
      }
    } catch {
      _ = remove()
      throw error
    }
  }

  private func prepareParent() throws(SyscallError) {
    switch hierarchy.version {
    case .v2:
      let root = hierarchy.unifiedRoot
      let parent = root + "/" + Self.parentName
      if mkdir(parent, 0o755) != 0 && errno != EEXIST { throw SyscallError("mkdir", errno: errno, detail: parent) }
      // Controllers must be enabled on the way down before a child can use them.
      let enable = hierarchy.available.map { "+" + $0 }.joined(separator: " ")
      if !enable.isEmpty {
        try? writeText(root + "/cgroup.subtree_control", enable)
        try writeText(parent + "/cgroup.subtree_control", enable)
      }
    case .v1:
      for (controller, directory) in directories {
        let mount = hierarchy.controllerMounts[controller]!
        let parent = mount + "/" + Self.parentName
        if mkdir(parent, 0o755) != 0 && errno != EEXIST { throw SyscallError("mkdir", errno: errno, detail: parent) }
        _ = directory
        if controller == "cpuset" {
          // A v1 cpuset starts empty; the parent needs the root's CPUs and nodes
          // before any child can have some.
          for file in ["cpuset.cpus", "cpuset.mems"] where ((try? readText(parent + "/" + file)) ?? "").trimmed.isEmpty {
            try writeText(parent + "/" + file, (try? readText(mount + "/" + file))?.trimmed ?? "0")
          }
        }
      }
    }
  }

  /// Brings the cgroup's limits to `limits`, writing only those that differ
  /// from what it has (a new cgroup has none): a warm sandbox's cgroup is made
  /// with the default profile's limits, so a plain run writes nothing here.
  /// A limit left out is lifted, except a cpuset, which only a cgroup made
  /// for one has (a warm one never does). After a failed write the cgroup's
  /// limits are unknown: every caller then discards it.
  public func apply(_ limits: CgroupLimits) throws(SyscallError) {
    let current = applied.withLock { $0 }
    if limits == current { return }
    switch hierarchy.version {
    case .v2:
      let dir = directories["memory"]!
      if limits.memoryBytes != current.memoryBytes {
        try writeText(dir + "/memory.max", limits.memoryBytes.map { "\($0)" } ?? "max")
        // No escape into swap: the limit is the limit.
        try? writeText(dir + "/memory.swap.max", limits.memoryBytes == nil ? "max" : "0")
      }
      if limits.cpuQuotaMicros != current.cpuQuotaMicros || limits.cpuPeriodMicros != current.cpuPeriodMicros {
        try writeText(dir + "/cpu.max", "\(limits.cpuQuotaMicros.map { "\($0)" } ?? "max") \(limits.cpuPeriodMicros)")
      }
      if limits.maxProcesses != current.maxProcesses {
        try writeText(dir + "/pids.max", limits.maxProcesses.map { "\($0)" } ?? "max")
      }
      if let cpuset = limits.cpuset, cpuset != current.cpuset { try writeText(dir + "/cpuset.cpus", cpuset) }
    case .v1:
      if let cpuset = limits.cpuset, cpuset != current.cpuset, let dir = directories["cpuset"] {
        let parent = hierarchy.controllerMounts["cpuset"]! + "/" + Self.parentName
        try writeText(dir + "/cpuset.cpus", cpuset)
        try writeText(dir + "/cpuset.mems", ((try? readText(parent + "/cpuset.mems")) ?? "0").trimmed)
      }
      if limits.memoryBytes != current.memoryBytes, let dir = directories["memory"] {
        let value = limits.memoryBytes.map { "\($0)" } ?? "-1"
        // memsw exists only with swap accounting; where it does, memory+swap is
        // capped too. It may never be below the memory limit, so it goes first
        // when the limit rises and second when it falls.
        let memsw = dir + "/memory.memsw.limit_in_bytes"
        let hasMemsw = access(memsw, F_OK) == 0
        let rises = (limits.memoryBytes ?? .max) > (current.memoryBytes ?? .max)
        if hasMemsw && rises { try writeText(memsw, value) }
        try writeText(dir + "/memory.limit_in_bytes", value)
        if hasMemsw && !rises { try writeText(memsw, value) }
      }
      if limits.cpuQuotaMicros != current.cpuQuotaMicros || limits.cpuPeriodMicros != current.cpuPeriodMicros,
        let dir = directories["cpu"]
      {
        if let quota = limits.cpuQuotaMicros {
          try writeText(dir + "/cpu.cfs_period_us", "\(limits.cpuPeriodMicros)")
          try writeText(dir + "/cpu.cfs_quota_us", "\(quota)")
        } else {
          try writeText(dir + "/cpu.cfs_quota_us", "-1")
        }
      }
      if limits.maxProcesses != current.maxProcesses, let dir = directories["pids"] {
        try writeText(dir + "/pids.max", limits.maxProcesses.map { "\($0)" } ?? "max")
      }
    }
    applied.withLock { $0 = limits }
  }

  /// Descriptors for a new process to join this cgroup itself (Spawn's
  /// `joining`): each v1 hierarchy's `tasks` file, opened here so the kernel
  /// checks our credentials, not the process's. Empty on v2, where only a
  /// move by pid (`add`) is possible: its `cgroup.threads` serves threaded
  /// cgroups only.
  public func openForJoining() throws(SyscallError) -> [Int32] {
    guard hierarchy.version == .v1 else { return [] }
    var opened: [Int32] = []
    for directory in uniqueDirectories {
      let path = directory + "/tasks"
      let fd = open(path, O_WRONLY | O_CLOEXEC)
      if fd < 0 {
        let code = errno
        opened.forEach(FD.close)
        throw SyscallError("open", errno: code, detail: path)
      }
      opened.append(fd)
    }
    return opened
  }

  /// Moves a process (and so everything it will start) into the cgroup.
  public func add(pid: pid_t) throws(SyscallError) {
    for directory in uniqueDirectories {
      try writeText(directory + "/cgroup.procs", "\(pid)")
    }
  }

  /// `totalsOnly`: CPU time, peaks and OOM kills, not the figures of the
  /// moment (at a sandbox's end nobody shows them, and each file read is a
  /// lookup and an open in a fresh kernfs directory), unless a peak is
  /// missing and the figure of the moment stands in for it.
  public func usage(totalsOnly: Bool = false) -> CgroupUsage {
    var usage = CgroupUsage()
    switch hierarchy.version {
    case .v2:
      let dir = directories["memory"]!
      if let stat = try? readText(dir + "/cpu.stat"), let micros = Self.field(stat, "usage_usec") { usage.cpuNanos = micros * 1000 }
      let peakMemory = Self.number(dir + "/memory.peak")
      if !totalsOnly || peakMemory == nil { usage.memoryBytes = Self.number(dir + "/memory.current") ?? 0 }
      usage.peakMemoryBytes = peakMemory ?? usage.memoryBytes
      let peakProcesses = Self.number(dir + "/pids.peak")
      if !totalsOnly || peakProcesses == nil { usage.processes = Int(Self.number(dir + "/pids.current") ?? 0) }
      usage.peakProcesses = peakProcesses.map { Int($0) } ?? usage.processes
      if let events = try? readText(dir + "/memory.events") { usage.oomKills = Int(Self.field(events, "oom_kill") ?? 0) }
    case .v1:
      if let dir = directories["cpuacct"] { usage.cpuNanos = Self.number(dir + "/cpuacct.usage") ?? 0 }
      if let dir = directories["memory"] {
        let peak = Self.number(dir + "/memory.max_usage_in_bytes")
        if !totalsOnly || peak == nil { usage.memoryBytes = Self.number(dir + "/memory.usage_in_bytes") ?? 0 }
        usage.peakMemoryBytes = peak ?? usage.memoryBytes
        if let control = try? readText(dir + "/memory.oom_control") { usage.oomKills = Int(Self.field(control, "oom_kill") ?? 0) }
      }
      if let dir = directories["pids"] {
        let peak = Self.number(dir + "/pids.peak")
        if !totalsOnly || peak == nil { usage.processes = Int(Self.number(dir + "/pids.current") ?? 0) }
        usage.peakProcesses = peak.map { Int($0) } ?? usage.processes
      }
    }
    return usage
  }

  /// Just the number of processes now (pids.current): cheap, unlike usage(),
  /// whose memory figures make the kernel flush its statistics.
  public func processCount() -> Int? {
    guard let dir = hierarchy.version == .v2 ? directories["memory"] : directories["pids"] else { return nil }
    return Self.number(dir + "/pids.current").map { Int($0) }
  }

  /// Kills every process in it (a sandbox left behind by a daemon that died):
  /// v2's cgroup.kill where there is one, else each pid it lists.
  public func killAll() {
    for directory in uniqueDirectories {
      if hierarchy.version == .v2, (try? writeText(directory + "/cgroup.kill", "1")) != nil { continue }
      for line in ((try? readText(directory + "/cgroup.procs")) ?? "").split(separator: "\n") {
        if let pid = Int32(line) { kill(pid, SIGKILL) }
      }
    }
  }

  /// Removes the cgroup; retries while the kernel still counts exiting tasks
  /// in it (EBUSY), up to `seconds`. True when it is gone.
  @discardableResult
  public func remove(seconds: Double = 2) -> Bool {
    var remaining = uniqueDirectories
    let deadline = monotonicSeconds() + seconds
    while true {
      remaining = remaining.filter { directory in
        rmdir(directory) != 0 && errno != ENOENT
      }
      if remaining.isEmpty { return true }
      if monotonicSeconds() > deadline { return false }
      usleep(2_000)
    }
  }

  static func number(_ path: String) -> UInt64? {
    guard let text = try? readText(path) else { return nil }
    return UInt64(text.trimmingSpaces)
  }

  /// `key value` lines (cpu.stat, memory.events, memory.oom_control).
  static func field(_ text: String, _ key: String) -> UInt64? {
    for line in text.split(separator: "\n") {
      let parts = line.split(separator: " ")
      if parts.count == 2 && parts[0] == key { return UInt64(parts[1]) }
    }
    return nil
  }
}

func monotonicSeconds() -> Double {
  var now = timespec()
  clock_gettime(CLOCK_MONOTONIC, &now)
  return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

extension String {
  var trimmingSpaces: String { trimmed }
}
