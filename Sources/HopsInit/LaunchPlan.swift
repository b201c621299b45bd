/// Everything hops-init needs to build one sandbox, decided by the daemon and sent
/// over the control socket (fd 3) as JSON. hops-init trusts nothing else: not its
/// arguments, not its environment.
import FoundationEssentials
import HopsOS

public struct LaunchPlan: Codable, Sendable, Equatable {
  /// The read-only lower layer: the rootfs from the store.
  public var lowerDir: String
  /// The sandbox's own writable layer and overlayfs work directory.
  public var upperDir: String
  public var workDir: String
  /// Where the overlay is mounted before pivot_root.
  public var rootfsMount: String
  /// Host directory shown at `workspaceTarget`, if any, and how.
  public var workspace: String?
  public var workspaceTarget: String
  public var workspaceMount: PlanMount?
  /// Host paths and profile mounts, mounted in this order after the workspace.
  public var mounts: [PlanMount]
  /// Paths inside the sandbox to mask after everything else (denied_paths).
  public var maskedPaths: [String]
  /// Bring `lo` up in the sandbox's network namespace (loopback, outbound, full).
  public var loopbackUp: Bool
  /// The interface to configure (outbound and full).
  public var network: PlanNetwork?
  /// Run the command on a new pseudo-terminal of the sandbox's own devpts, as its
  /// controlling terminal; its master goes to the daemon over the control socket.
  public var terminal: Terminal.Size?
  /// The user to run the command as (an image's `User`); nil for root.
  public var user: String?
  public var hostname: String
  public var workingDirectory: String
  /// argv of the command; argv[0] is resolved through PATH inside the sandbox.
  public var argv: [String]
  /// `NAME=VALUE` strings.
  public var environment: [String]
  /// Capability names kept for the command; every other one is dropped.
  public var capabilities: [String]
  /// The seccomp BPF program installed in the command and every exec just
  /// before execve; nil for none (an unconfined profile).
  public var seccompFilter: Data?
  /// Descriptors that follow the plan (SCM_RIGHTS, on the plan's frame and on
  /// `descriptorsFrame` frames after it): detached mounts the daemon built.
  public var descriptorCount = 0
  /// The command's stdin, stdout and stderr come first among those
  /// descriptors (a direct run: the client's own, not the daemon's pipes);
  /// they are not counted in `descriptorCount`.
  public var stdioPassed = false
  /// hops-init runs in its own user namespace (root inside is an unprivileged
  /// id outside): device nodes are bound from the host, not made.
  public var userNamespace = false
  /// The sandbox's root as a detached overlay (an index into the descriptors).
  /// hops-init, in its user namespace, cannot reach the sandbox's directory.
  public var rootDescriptor: Int?
  /// Detached mounts the root overlay was built from (its idmapped lower
  /// layers, read-only; the tmpfs of its writable layer), indices into the
  /// descriptors. hops-init attaches them beneath the root before its pivot,
  /// so that they go with the old root: closed unattached, each would be
  /// unmounted on its own, and every unmount waits for an expedited RCU grace
  /// period (see SandboxMountBuilder.spares). A prepared hops-init, pivoted
  /// already, just closes them.
  public var spareDescriptors: [Int] = []
  /// The root and the kernel filesystems are in place already: this warm
  /// hops-init got a `prepareFrame` while it waited (see SandboxFilesystem).
  public var prepared = false

  public init(
    lowerDir: String, upperDir: String, workDir: String, rootfsMount: String,
    workspace: String?, workspaceTarget: String, hostname: String, workingDirectory: String,
    argv: [String], environment: [String], capabilities: [String],
    workspaceMount: PlanMount? = nil, mounts: [PlanMount] = [], maskedPaths: [String] = [], loopbackUp: Bool = false,
    network: PlanNetwork? = nil, terminal: Terminal.Size? = nil, user: String? = nil, seccompFilter: Data? = nil
  ) {
    self.lowerDir = lowerDir
    self.upperDir = upperDir
    self.workDir = workDir
    self.rootfsMount = rootfsMount
    self.workspace = workspace
    self.workspaceTarget = workspaceTarget
    self.hostname = hostname
    self.workingDirectory = workingDirectory
    self.argv = argv
    self.environment = environment
    self.capabilities = capabilities
    self.workspaceMount = workspaceMount ?? workspace.map {
      PlanMount(kind: .bind, source: $0, destination: workspaceTarget)
    }
    self.mounts = mounts
    self.maskedPaths = maskedPaths
    self.loopbackUp = loopbackUp
    self.network = network
    self.terminal = terminal
    self.user = user
    self.seccompFilter = seccompFilter
  }

  /// The capabilities a sandboxed command keeps: enough for package managers and
  /// ordinary root-in-a-container work (file ownership, setuid to drop to a user,
  /// binding low ports), nothing that reaches the kernel or other processes:
  /// no SYS_ADMIN (mount), SYS_PTRACE, SYS_MODULE, NET_ADMIN, NET_RAW, MKNOD,
  /// SYS_TIME, SYS_BOOT, DAC_READ_SEARCH, and so on. Docker's default set minus
  /// MKNOD, NET_RAW, AUDIT_WRITE and SETFCAP: file capabilities set on a
  /// workspace file would outlive the sandbox on the host.
  public static let defaultCapabilities = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
  ]

  /// The payload of the frames that carry more of the plan's descriptors.
  public static let descriptorsFrame: [UInt8] = Array("fds".utf8)

  /// The frame a warm hops-init may get before its plan, with descriptors:
  /// the default rootfs as a detached overlay, then the mounts it was built
  /// from (see `spareDescriptors`), to build the part of the tree no plan
  /// changes while it waits.
  public static let prepareFrame: [UInt8] = Array("prepare".utf8)

  /// The frame that follows the plan once the daemon has placed hops-init in the
  /// sandbox's cgroup: nothing of the command runs before it.
  public static let goFrame: [UInt8] = Array("go".utf8)

  /// The control socket's descriptor number in hops-init.
  public static let controlDescriptor = Int32(3)
}
