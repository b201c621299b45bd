import FoundationEssentials
import Glibc
import HopsCore
import HopsOS

/// hops-init as the daemon's zygote (`hops-init --zygote`, control channel on
/// fd 3): started once, it forks each sandbox's hops-init in fresh namespaces
/// (ZygoteCalls), so a sandbox no longer pays an execve, glibc's and the Swift
/// runtime's start (CPUID probing, metadata caches), nor the first use of the
/// generic types hops-init reads its plan with: the zygote has used them all
/// once, and each child starts with that done.
///
/// A child returns from `serve` exactly as a spawned hops-init starts: its
/// descriptors 0-3 in place, nothing else open, signals reset, a session of
/// its own, in its namespaces and cgroups, the daemon its parent.
public enum Zygote {
  public static let argument = "--zygote"
  /// After `argument`: the sandboxes have user namespaces, so the zygote may
  /// keep only the few mounts its children use (see ZygoteCalls.serve).
  public static let minimalMountsArgument = "--minimal-mounts"
  /// After `argument`: the zygote leaves its code mapped from its file
  /// instead of moving it onto huge pages (see ZygoteCalls.serve), so that a
  /// profiler names its functions in the sandboxes' hops-init.
  public static let codeFromFileArgument = "--code-from-file"

  /// Serves the daemon; returns only in a child. The zygote itself exits when
  /// the daemon closes the channel (or dies).
  public static func serve() {
    warmUp()
    let arguments = (0..<Int(CommandLine.argc)).compactMap { CommandLine.unsafeArgv[$0] }
    let options = arguments.dropFirst(2).map { String(cString: $0) }
    guard
      ZygoteCalls.serve(
        LaunchPlan.controlDescriptor, minimalMounts: options.contains(minimalMountsArgument),
        codeOnHugePages: !options.contains(codeFromFileArgument))
    else { _exit(0) }
    // A sandbox's hops-init: its command line says just that, as a spawned one's does.
    for argument in arguments.dropFirst() { memset(argument, 0, strlen(argument)) }
  }

  /// Uses, once, the generic types and code paths every hops-init needs, so
  /// that their one-time costs are paid here instead of in each sandbox.
  static func warmUp() {
    var plan = LaunchPlan(
      lowerDir: "/l", upperDir: "/u", workDir: "/w", rootfsMount: "/r", workspace: "/ws", workspaceTarget: "/workspace",
      hostname: "h", workingDirectory: "/", argv: ["a"], environment: ["A=1"],
      capabilities: LaunchPlan.defaultCapabilities,
      mounts: [PlanMount(kind: .bind, source: "/s", destination: "/d")], maskedPaths: ["/m"],
      seccompFilter: Data([1, 2, 3]))
    plan.descriptorCount = 1
    _ = try? LaunchPlan(frame: plan.frame)
    let exec = #"{"exec":{"_0":{"id":1,"argv":["a"],"environment":[],"workingDirectory":"/"}}}"#
    _ = try? InitRequest(json: Array(exec.utf8))
    for name in LaunchPlan.defaultCapabilities { _ = Capabilities.number(of: name) }
    var path = "/a"
    path.append(contentsOf: "b/c".split(separator: "/")[0])
    _ = [Int32](repeating: -1, count: 4)
    _ = [UInt8](unsafeUninitializedCapacity: 16) { _, count in count = 0 }
    // The arrays a launch builds or grows: each type's first use instantiates
    // its metadata, which took 0.07 ms of CPU in every forked hops-init
    // (perf: swift_getTypeByMangledName under these callers).
    var pointers: [UnsafeMutablePointer<CChar>?] = [String](repeating: "a", count: 1).map { strdup($0) }  // Spawn's argv and environment
    pointers.append(nil)
    pointers.forEach { free($0) }
    var descriptors: [Int32] = []
    descriptors += [Int32](repeating: -1, count: 2).prefix(1)  // ControlChannel.fill
    var polled = [pollfd(fd: -1, events: Int16(POLLIN), revents: 0)]  // Supervisor.run
    polled.append(pollfd(fd: -1, events: 0, revents: 0))
    let links: [(String, String)] = [("a", "b")]  // mountDev's links
    // Kept, as existentials, so that none of it is optimized away.
    warmedUp = [pointers, descriptors, polled, links, SandboxFilesystem.devices]
  }

  nonisolated(unsafe) private static var warmedUp: [Any] = []
}
