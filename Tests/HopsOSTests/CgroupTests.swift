import FoundationEssentials
import Glibc
import Testing

@testable import HopsOS

/// Cgroup file writes for v1 and v2, against a temporary directory laid out like
/// the kernel's (the files exist, as the kernel makes them; we only write).
@Suite struct CgroupTests {
  let root: String

  init() throws {
    var template = Array("/tmp/hops-cgroup-test-XXXXXX".utf8CString)
    root = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
  }

  func cleanup() { try? FileManager.default.removeItem(atPath: root) }

  func read(_ path: String) -> String? { try? readText(path) }

  func touch(_ directory: String, _ names: [String]) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    for name in names { FileManager.default.createFile(atPath: directory + "/" + name, contents: Data()) }
  }

  @Test func detectsV1HybridAndV2FromMountinfo() {
    let hybrid = """
      31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
      32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
      33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
      35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
      39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
      41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
      """
    let v1 = CgroupHierarchy.detect(mountinfo: hybrid)
    #expect(v1?.version == .v1)
    #expect(v1?.controllerMounts == ["cpu": "/sys/fs/cgroup/cpu", "cpuacct": "/sys/fs/cgroup/cpuacct", "memory": "/sys/fs/cgroup/memory", "pids": "/sys/fs/cgroup/pids"])
    let comounted = CgroupHierarchy.detect(mountinfo: "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n")
    #expect(comounted?.controllerMounts["cpu"] == comounted?.controllerMounts["cpuacct"])
    let v2 = CgroupHierarchy.detect(mountinfo: "30 23 0:27 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n")
    #expect(v2 == CgroupHierarchy(version: .v2, unifiedRoot: "/sys/fs/cgroup"))
    #expect(CgroupHierarchy.detect(mountinfo: "22 1 8:1 / / rw - ext4 /dev/vda rw\n") == nil)
  }

  @Test func v2WritesLimitsAndEnablesControllers() throws {
    defer { cleanup() }
    try touch(root, ["cgroup.controllers", "cgroup.subtree_control"])
    try "cpu memory pids io".write(toFile: root + "/cgroup.controllers", atomically: false, encoding: .utf8)
    try touch(root + "/hops", ["cgroup.subtree_control"])
    try touch(root + "/hops/box", ["memory.max", "memory.swap.max", "cpu.max", "pids.max", "cgroup.procs"])
    let cgroup = SandboxCgroup(hierarchy: CgroupHierarchy(version: .v2, unifiedRoot: root), name: "box")
    try cgroup.create(limits: CgroupLimits(memoryBytes: 256 << 20, cpus: 0.5, maxProcesses: 64))
    #expect(read(root + "/hops/cgroup.subtree_control") == "+memory +cpu +pids")
    #expect(read(root + "/hops/box/memory.max") == "268435456")
    #expect(read(root + "/hops/box/memory.swap.max") == "0")
    #expect(read(root + "/hops/box/cpu.max") == "50000 100000")
    #expect(read(root + "/hops/box/pids.max") == "64")
    try cgroup.add(pid: 4242)
    #expect(read(root + "/hops/box/cgroup.procs") == "4242")
  }

  @Test func v1WritesEachControllerAndCapsSwap() throws {
    defer { cleanup() }
    let mounts = ["memory": root + "/memory", "cpu": root + "/cpu", "cpuacct": root + "/cpuacct", "pids": root + "/pids"]
    try touch(root + "/memory/hops/box", ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "cgroup.procs"])
    try touch(root + "/cpu/hops/box", ["cpu.cfs_period_us", "cpu.cfs_quota_us", "cgroup.procs"])
    try touch(root + "/cpuacct/hops/box", ["cgroup.procs"])
    try touch(root + "/pids/hops/box", ["pids.max", "cgroup.procs"])
    let cgroup = SandboxCgroup(hierarchy: CgroupHierarchy(version: .v1, controllerMounts: mounts), name: "box")
    try cgroup.create(limits: CgroupLimits(memoryBytes: 128 << 20, cpus: 1.5, maxProcesses: 10))
    #expect(read(root + "/memory/hops/box/memory.limit_in_bytes") == "134217728")
    #expect(read(root + "/memory/hops/box/memory.memsw.limit_in_bytes") == "134217728")
    #expect(read(root + "/cpu/hops/box/cpu.cfs_period_us") == "100000")
    #expect(read(root + "/cpu/hops/box/cpu.cfs_quota_us") == "150000")
    #expect(read(root + "/pids/hops/box/pids.max") == "10")
    try cgroup.add(pid: 77)
    for controller in ["memory", "cpu", "cpuacct", "pids"] {
      #expect(read(root + "/\(controller)/hops/box/cgroup.procs") == "77")
    }
  }

  @Test func noLimitsWritesNoLimitFiles() throws {
    defer { cleanup() }
    try touch(root + "/pids/hops/box", ["pids.max", "cgroup.procs"])
    let cgroup = SandboxCgroup(hierarchy: CgroupHierarchy(version: .v1, controllerMounts: ["pids": root + "/pids"]), name: "box")
    try cgroup.create(limits: CgroupLimits())
    #expect(read(root + "/pids/hops/box/pids.max") == "")
  }

  @Test func usageReadsTheKernelCounters() throws {
    defer { cleanup() }
    try touch(root + "/hops/box", [])
    let files = [
      "cpu.stat": "usage_usec 1500000\nuser_usec 1000000\n", "memory.current": "1048576\n", "memory.peak": "4194304\n",
      "pids.current": "3\n", "pids.peak": "7\n", "memory.events": "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n",
    ]
    for (name, text) in files { try text.write(toFile: root + "/hops/box/" + name, atomically: false, encoding: .utf8) }
    let usage = SandboxCgroup(hierarchy: CgroupHierarchy(version: .v2, unifiedRoot: root), name: "box").usage()
    #expect(usage.cpuNanos == 1_500_000_000)
    #expect(usage.memoryBytes == 1 << 20 && usage.peakMemoryBytes == 4 << 20)
    #expect(usage.processes == 3 && usage.peakProcesses == 7)
    #expect(usage.oomKills == 1)
  }

  @Test func cpuQuotaRoundsAndHasAFloor() {
    #expect(CgroupLimits(cpus: 2).cpuQuotaMicros == 200_000)
    #expect(CgroupLimits(cpus: 0.001).cpuQuotaMicros == 1000)
  }
}
