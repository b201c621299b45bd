import HopsCore

/// `[capabilities.resource_limits]`: what a sandbox may use of the machine.
public struct ResourceLimits: Sendable, Equatable {
  /// CPUs as a quota; fractions allowed (0.5 is half a core).
  public var cpus: Double?
  public var memoryBytes: UInt64?
  public var maxProcesses: Int?
  /// Wall-clock limit: the whole sandbox is killed after it (exit 124).
  public var timeoutSeconds: Double?
  /// CPUs the sandbox may run on, as the kernel writes them: "0-1", "0,2".
  public var cpuset: String?

  public init(cpus: Double? = nil, memoryBytes: UInt64? = nil, maxProcesses: Int? = nil, timeoutSeconds: Double? = nil) {
    self.cpus = cpus
    self.memoryBytes = memoryBytes
    self.maxProcesses = maxProcesses
    self.timeoutSeconds = timeoutSeconds
  }

  /// True when any cgroup limit is set (the timeout is the daemon's own).
  public var needsCgroup: Bool { cpus != nil || memoryBytes != nil || maxProcesses != nil || cpuset != nil }

  /// The CPU numbers a cpuset list names, or nil when it is malformed.
  public static func cpusetMembers(_ list: String) -> [Int]? {
    var members: [Int] = []
    for part in list.split(separator: ",", omittingEmptySubsequences: false) {
      let bounds = part.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
      guard (1...2).contains(bounds.count), bounds.allSatisfy({ $0 != nil && $0! >= 0 }) else { return nil }
      let low = bounds[0]!, high = bounds.last!!
      guard low <= high, high < 4096 else { return nil }
      members += Array(low...high)
    }
    return members.isEmpty ? nil : members
  }

  /// The smallest limits a sandbox can start with at all.
  public static let minimumMemory: UInt64 = 8 << 20
  public static let minimumCPUs = 0.01
  public static let maximumProcesses = 4_194_304

  /// Limits above what the host has, or below what can work, are refused.
  public func problems(hostCPUs: Int, hostMemory: UInt64) -> [(key: String, message: String)] {
    var problems: [(String, String)] = []
    if let cpus {
      if !(cpus >= Self.minimumCPUs) {
        problems.append(("cpus", "\(cpus) CPUs is below the minimum of \(Self.minimumCPUs)"))
      } else if cpus > Double(hostCPUs) {
        problems.append(("cpus", "\(cpus) CPUs is more than this host has (\(hostCPUs))"))
      }
    }
    if let memoryBytes {
      if memoryBytes < Self.minimumMemory {
        problems.append(("memory_bytes", "\(ByteSize.format(memoryBytes)) of memory is below the minimum of 8M"))
      } else if hostMemory > 0 && memoryBytes > hostMemory {
        problems.append(("memory_bytes", "\(ByteSize.format(memoryBytes)) of memory is more than this host has (\(ByteSize.format(hostMemory)))"))
      }
    }
    if let maxProcesses, !(1...Self.maximumProcesses).contains(maxProcesses) {
      problems.append(("max_processes", "\(maxProcesses) processes is out of range (1 to \(Self.maximumProcesses))"))
    }
    if let cpuset {
      if let members = Self.cpusetMembers(cpuset) {
        if let beyond = members.first(where: { $0 >= hostCPUs }) {
          problems.append(("cpuset", "CPU \(beyond) in '\(cpuset)' does not exist on this host (CPUs 0-\(hostCPUs - 1))"))
        }
      } else {
        problems.append(("cpuset", "'\(cpuset)' is not a CPU list (write e.g. 0-1 or 0,2)"))
      }
    }
    if let timeoutSeconds, !(timeoutSeconds > 0 && timeoutSeconds <= 30 * 86400) {
      problems.append(("timeout", "a timeout of \(timeoutSeconds) s is out of range (above 0, at most 30 days)"))
    }
    return problems
  }
}
