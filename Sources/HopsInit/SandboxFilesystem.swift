import Glibc
import HopsOS

/// Builds the sandbox's mount tree inside hops-init's fresh mount namespace and
/// pivots into it. Order matters and is the order below:
///
/// 1. Make every mount private first, so nothing we do propagates to the host.
/// 2. The overlay root: the store's rootfs below, the sandbox's own upper layer on
///    top. Nothing of the rootfs is copied; writes land in the upper layer.
///    In a user namespace the daemon builds it (idmapped layers, trusted xattrs)
///    and we attach it; host paths are reached only through the descriptors the
///    daemon passed, never by path ($HOPS_HOME is closed to us).
/// 3. Kernel filesystems (/proc, /sys), a minimal /dev, tmpfs for /tmp, and
///    the masks over /proc and /sys.
/// 4. Ping for every group (with a network); the workspace, bind-mounted
///    read-write; the plan's mounts. (IPv6 is switched off earlier, before
///    hops-init brings eth0 up.)
/// 5. Read-only remounts over /proc/sys and friends.
/// 6. pivot_root, then detach the old root so no host path stays reachable.
///
/// A warm hops-init does steps 1 to 3 and 6 ahead (see `prepare`), and then
/// 4 and 5 in its new root when the plan comes.
struct SandboxFilesystem {
  let plan: LaunchPlan
  /// The detached mounts (and mount points) the daemon passed with the plan.
  var descriptors: [Int32] = []

  /// Files in /proc that leak host information or control the host; each is
  /// covered with /dev/null. The same list as the strictest OCI runtimes mask.
  static let maskedProcFiles = [
    "kcore", "sysrq-trigger", "timer_list", "timer_stats", "keys", "latency_stats",
    "sched_debug", "kallsyms", "kmsg", "kpagecount", "kpageflags", "kpagecgroup",
  ]
  /// Directories in /proc and /sys that are covered with an empty read-only tmpfs.
  static let maskedDirectories = ["proc/acpi", "proc/scsi", "proc/asound", "sys/firmware", "sys/kernel/security"]
  /// Kept visible but read-only: writing to them would change the host's kernel.
  static let readOnlyProcPaths = ["proc/sys", "proc/bus", "proc/fs", "proc/irq"]

  /// Device nodes of a minimal /dev: (name, major, minor). Majors and minors
  /// are below 256, where makedev(3) is simply major << 8 | minor.
  static let devices: [(String, UInt32, UInt32)] = [
    ("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0),
  ]

  /// Where the new root is while we build it. A root the daemon built is
  /// attached in our own mount namespace over the old root's /tmp (the
  /// sandbox's directory is not ours to reach; our namespace is private, so
  /// the host's /tmp is untouched), and that mount goes with the old root.
  /// After a warm hops-init's `prepare`, the sandbox's root is ours already
  /// (pivoted): paths below are plain absolute ones.
  var root: String {
    if plan.prepared { return "" }
    return plan.rootDescriptor == nil ? plan.rootfsMount : Self.stagingDirectory
  }
  static let stagingDirectory = "/tmp"

  func descriptor(_ index: Int?) throws(SyscallError) -> Int32? {
    guard let index else { return nil }
    guard index < descriptors.count else { throw SyscallError("plan", errno: EBADF, detail: "descriptor \(index) did not arrive") }
    return descriptors[index]
  }

  /// The whole tree, from the plan; the first part is skipped when a warm
  /// hops-init prepared it already (`plan.prepared`).
  func build() throws(SyscallError) {
    let root = self.root
    if !plan.prepared { try buildBase() }
    if plan.loopbackUp {
      // ping without CAP_NET_RAW: ICMP datagram sockets for every group, in
      // this network namespace only.
      // (The groups the sandbox can have: those its user namespace maps.)
      try? writeText(root + "/proc/sys/net/ipv4/ping_group_range", "0 65535")
    }

    if let workspace = plan.workspaceMount {
      // The workspace target is ours (/workspace), so it must be a real directory
      // in the rootfs: a symlink there could put the workspace over the root.
      let target = root + workspace.destination
      try ensureDirectory(target)
      if let detached = try descriptor(workspace.descriptor) {
        try DetachedMounts.attach(detached, at: target)
      } else {
        try mount(workspace, at: target)
        if workspace.kind == .bind { try Mounts.remountBind(target, flags: bindFlags(workspace)) }
      }
    }
    try mountPlanMounts(root)

    try makeKernelPathsReadOnly(root)
    if !plan.prepared { try pivot(into: root) }
    // After pivot_root, paths (and any symlinks in them) resolve inside the
    // sandbox, which is exactly what a denied path names.
    try maskDeniedPaths()
  }

  /// What no plan changes, for a warm hops-init while it waits: the default
  /// rootfs (`root`, detached, from the daemon) with /proc, /dev, /sys, /tmp and
  /// the masks over /proc and /sys, and pivot_root into it (detaching the old
  /// root, a copy of every host mount, is the costliest call of all). The plan
  /// then adds the rest (`prepared`): the workspace and the plan's mounts come
  /// as detached mounts or tmpfs, which need no host path. About two thirds of
  /// the mount calls, off the run's path.
  static func prepare(root: Int32, spares: [Int32]) throws(SyscallError) {
    var plan = LaunchPlan(
      lowerDir: "", upperDir: "", workDir: "", rootfsMount: "", workspace: nil, workspaceTarget: "", hostname: "",
      workingDirectory: "/", argv: [], environment: [], capabilities: [])
    plan.rootDescriptor = 0
    plan.spareDescriptors = Array(1..<1 + spares.count)
    plan.userNamespace = true
    let filesystem = SandboxFilesystem(plan: plan, descriptors: [root] + spares)
    try filesystem.buildBase()
    try filesystem.pivot(into: filesystem.root)
  }

  /// Steps 1 to 3, and the masks of step 5 (below /proc and /sys, which no plan
  /// mount may touch).
  private func buildBase() throws(SyscallError) {
    let root = self.root
    try Mounts.makePrivate("/")
    if let overlay = try descriptor(plan.rootDescriptor) {
      // Straight onto /tmp, through a descriptor (a /tmp that is a symlink is
      // followed, as mount(2) would): a tmpfs of our own under it, as before,
      // was one more superblock made and torn down at every start.
      let staging = try syscall("open", root) { open(root, Int32(O_PATH_FLAG) | O_DIRECTORY | O_CLOEXEC) }
      defer { FD.close(staging) }
      // The mounts the root was built from, stacked beneath it: they go with
      // the old root at the pivot, in the one unmount that pays for one RCU
      // grace period. (One that cannot be attached is unmounted on its own
      // when closed, as before.)
      for index in plan.spareDescriptors {
        if let spare = try descriptor(index) { try? DetachedMounts.attach(spare, onto: staging) }
      }
      // Built by the daemon with nosuid and nodev.
      try DetachedMounts.attach(overlay, onto: staging)
    } else {
      // nosuid: setuid bits in a rootfs or image layer never grant anything here
      // (no_new_privs already makes them inert; this is the second lock).
      try Mounts.mount(
        source: "overlay", target: root, type: "overlay", flags: [.noDev, .noSuid],
        data: "lowerdir=\(plan.lowerDir),upperdir=\(plan.upperDir),workdir=\(plan.workDir)")
    }
    try mountProc(root)
    try mountDev(root)
    try ensureDirectory(root + "/sys")
    try Mounts.mount(source: "sysfs", target: root + "/sys", type: "sysfs", flags: [.readOnly, .noSuid, .noDev, .noExec])
    try ensureDirectory(root + "/tmp", mode: 0o1777)
    try Mounts.mount(source: "tmpfs", target: root + "/tmp", type: "tmpfs", flags: [.noSuid, .noDev], data: "mode=1777")
    try maskKernelInterfaces(root)
  }

  /// Profile mounts and allowed paths. Their destinations are user-chosen paths
  /// in an arbitrary rootfs, which may hold symlinks (`/lib -> usr/lib`): each is
  /// resolved inside the new root (openat2 RESOLVE_IN_ROOT), created if missing,
  /// and mounted on through its descriptor, so no symlink can make the mount land
  /// outside the sandbox.
  private func mountPlanMounts(_ root: String) throws(SyscallError) {
    guard !plan.mounts.isEmpty else { return }
    let rootFD = try PathsInRoot.openRoot(root.isEmpty ? "/" : root)
    defer { FD.close(rootFD) }
    for spec in plan.mounts {
      let components = spec.destination.split(separator: "/")
      let targetFD: Int32
      // The daemon says what a bind's source is: in a user namespace, its host
      // path is not ours to look at.
      if spec.kind == .bind && !(spec.sourceIsDirectory ?? isDirectory(spec.source)) {
        targetFD = try PathsInRoot.makeFile(rootFD, components)
      } else {
        targetFD = try PathsInRoot.makeDirectories(rootFD, components)
      }
      do {
        if let detached = try descriptor(spec.descriptor) {
          try DetachedMounts.attach(detached, onto: targetFD)
        } else {
          try mount(spec, at: DetachedMounts.path(of: targetFD))
        }
      } catch {
        FD.close(targetFD)
        throw error
      }
      FD.close(targetFD)
      if spec.kind == .bind && spec.descriptor == nil {
        // Re-open: the descriptor above names the directory under the new mount.
        let mounted = try PathsInRoot.open(rootFD, spec.destination, flags: Int32(O_PATH_FLAG))
        defer { FD.close(mounted) }
        try Mounts.remountBind("/proc/self/fd/\(mounted)", flags: bindFlags(spec))
      }
    }
  }

  private func mount(_ spec: PlanMount, at target: String) throws(SyscallError) {
    var flags: Mounts.Flags = [.noSuid, .noDev]
    if spec.noExec { flags.insert(.noExec) }
    if spec.readOnly { flags.insert(.readOnly) }
    switch spec.kind {
    case .bind:
      try Mounts.bind(spec.source, target)
    case .tmpfs:
      try Mounts.mount(source: "tmpfs", target: target, type: "tmpfs", flags: flags, data: spec.data)
    case .overlay:
      try Mounts.mount(
        source: "overlay", target: target, type: "overlay", flags: flags,
        data: "lowerdir=\(spec.source),upperdir=\(spec.upperDir),workdir=\(spec.workDir)")
    }
  }

  private func bindFlags(_ spec: PlanMount) -> Mounts.Flags {
    var flags: Mounts.Flags = [.noSuid, .noDev]
    if spec.readOnly { flags.insert(.readOnly) }
    if spec.noExec { flags.insert(.noExec) }
    return flags
  }

  /// denied_paths: a directory is covered by an empty read-only tmpfs, anything
  /// else by /dev/null. A path that does not exist needs nothing.
  private func maskDeniedPaths() throws(SyscallError) {
    for path in plan.maskedPaths {
      var info = stat()
      guard stat(path, &info) == 0 else { continue }
      if info.st_mode & S_IFMT == S_IFDIR {
        try Mounts.mount(source: "tmpfs", target: path, type: "tmpfs", flags: [.readOnly, .noSuid, .noDev, .noExec], data: "mode=000")
      } else {
        // Not nodev: the mask is a device node (/dev/null), which reads as empty.
        try Mounts.bind("/dev/null", path)
        try Mounts.remountBind(path, flags: [.readOnly, .noSuid, .noExec])
      }
    }
  }

  private func isDirectory(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
  }

  private func mountProc(_ root: String) throws(SyscallError) {
    try ensureDirectory(root + "/proc")
    try Mounts.mount(source: "proc", target: root + "/proc", type: "proc", flags: [.noSuid, .noDev, .noExec])
  }

  private func mountDev(_ root: String) throws(SyscallError) {
    let dev = root + "/dev"
    try ensureDirectory(dev)
    try Mounts.mount(source: "tmpfs", target: dev, type: "tmpfs", flags: [.noSuid, .noExec], data: "mode=755,size=64k")
    for (name, major, minor) in Self.devices {
      let node = dev + "/" + name
      if plan.userNamespace {
        // No mknod in a user namespace: the host's own node, bind-mounted onto
        // an empty file (the same device, and nothing else of the host's /dev).
        FD.close(try syscall("open", node) { open(node, O_WRONLY | O_CREAT | O_CLOEXEC, 0o666) })
        try Mounts.bind("/dev/" + name, node)
      } else {
        try syscall("mknod", node) { mknod(node, mode_t(S_IFCHR) | 0o666, dev_t(major) << 8 | dev_t(minor)) }
        // mknod applies the umask; devices must be usable by every user.
        try syscall("chmod", node) { chmod(node, 0o666) }
      }
    }
    try ensureDirectory(dev + "/pts")
    try Mounts.mount(
      source: "devpts", target: dev + "/pts", type: "devpts", flags: [.noSuid, .noExec],
      data: "newinstance,ptmxmode=0666,mode=0620")
    try ensureDirectory(dev + "/shm", mode: 0o1777)
    try Mounts.mount(source: "shm", target: dev + "/shm", type: "tmpfs", flags: [.noSuid, .noDev, .noExec], data: "mode=1777")
    for (link, target) in [
      ("ptmx", "pts/ptmx"), ("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
      ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"),
    ] {
      try syscall("symlink", dev + "/" + link) { symlink(target, dev + "/" + link) }
    }
  }

  /// Each mask is tried at once: a kernel without the file (ENOENT) needs
  /// none. (A stat before each was 20 lookups in a fresh /proc, 0.07 ms.)
  private func maskKernelInterfaces(_ root: String) throws(SyscallError) {
    // The masks' source, there for sure: ENOENT below is a missing target.
    var info = stat()
    guard lstat(root + "/dev/null", &info) == 0 else { throw SyscallError("lstat", errno: errno, detail: root + "/dev/null") }
    for name in Self.maskedProcFiles {
      try unlessMissing { () throws(SyscallError) in try Mounts.bind(root + "/dev/null", root + "/proc/" + name) }
    }
    // One empty tmpfs, mounted on the first and bound onto the others (a bind
    // keeps its flags): each tmpfs is a superblock the kernel makes at the
    // start and tears down at the exit, 20 us a sandbox each.
    var empty: String?
    for name in Self.maskedDirectories {
      let target = root + "/" + name
      try unlessMissing { () throws(SyscallError) in
        if let empty {
          try Mounts.bind(empty, target)
        } else {
          try Mounts.mount(
            source: "tmpfs", target: target, type: "tmpfs", flags: [.readOnly, .noSuid, .noDev, .noExec], data: "mode=000")
          empty = target
        }
      }
    }
  }

  /// After the network's sysctls are written (the sandbox's own, in its own
  /// network namespace): the rest of /proc/sys and friends read-only.
  private func makeKernelPathsReadOnly(_ root: String) throws(SyscallError) {
    for name in Self.readOnlyProcPaths {
      let path = root + "/" + name
      try unlessMissing { () throws(SyscallError) in
        try Mounts.bind(path, path, recursive: true)
        try Mounts.remountBind(path, flags: [.readOnly, .noSuid, .noDev, .noExec])
      }
    }
  }

  /// Runs `mount`, which does nothing when its target is missing.
  private func unlessMissing(_ mount: () throws(SyscallError) -> Void) throws(SyscallError) {
    do { try mount() } catch where error.errno == ENOENT {}
  }

  /// pivot_root(".", ".") stacks the old root on top of the new one; detaching it
  /// leaves only the new root. No directory for the old root is needed, so the
  /// rootfs needs no writable spot for it.
  func pivot(into root: String) throws(SyscallError) {
    try syscall("chdir", root) { chdir(root) }
    try Mounts.pivotRoot(".", ".")
    try Mounts.unmount(".", detach: true)
    try syscall("chdir", "/") { chdir("/") }
  }

  /// mkdir -p below the new root, with `mode` for the last component. Every
  /// component must be a real directory: a rootfs could hold `workspace -> .` or
  /// `proc -> /`, and mounting through such a link would put the mount somewhere
  /// else than intended (and make later masks miss their targets).
  private func ensureDirectory(_ path: String, mode: mode_t = 0o755) throws(SyscallError) {
    let root = self.root
    precondition(path.hasPrefix(root + "/"), "mount target outside the new root")
    // Most targets are there already (/proc, /dev, /tmp in any rootfs).
    if HostPaths.isDirectoryWithoutSymlinks(path) { return }
    var prefix = root
    let parts = path.dropFirst(root.count + 1).split(separator: "/")
    for (index, part) in parts.enumerated() {
      prefix.append("/")
      prefix.append(contentsOf: part)  // String's own overload: `"/" + part` is generic, and slow the first time
      let last = index == parts.count - 1
      var info = stat()
      if lstat(prefix, &info) == 0 {
        guard info.st_mode & S_IFMT == S_IFDIR else {
          throw SyscallError("mount target", errno: ENOTDIR, detail: "\(prefix) in the rootfs is not a directory")
        }
        continue
      }
      let m = last ? mode : 0o755
      let result = mkdir(prefix, m)
      if result != 0 && errno != EEXIST { throw SyscallError("mkdir", errno: errno, detail: prefix) }
      if last { chmod(prefix, m) }
    }
  }
}
