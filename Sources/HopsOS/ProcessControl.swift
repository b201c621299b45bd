import CHops

/// Per-process switches that hops-init flips before running the command.
public enum ProcessControl {
  /// Blocks every signal and returns a signalfd that delivers them instead.
  public static func signalsToDescriptor() throws(SyscallError) -> Int32 {
    try syscall("signalfd") { hops_signalfd_all() }
  }

  /// Blocks `signals` and returns a signalfd that delivers them instead.
  public static func signalsToDescriptor(_ signals: [Int32]) throws(SyscallError) -> Int32 {
    try syscall("signalfd") { hops_signalfd_of(signals, Int32(signals.count)) }
  }

  /// No execve after this can gain privileges (setuid bits, file capabilities).
  public static func forbidNewPrivileges() throws(SyscallError) {
    try syscall("prctl", "PR_SET_NO_NEW_PRIVS") { hops_set_no_new_privs() }
  }

  /// Not dumpable: no core dumps, and processes without CAP_SYS_PTRACE cannot
  /// ptrace us or read our /proc entries.
  public static func setDumpable(_ value: Bool) throws(SyscallError) {
    try syscall("prctl", "PR_SET_DUMPABLE") { hops_set_dumpable(value ? 1 : 0) }
  }

  /// The process runs only when a CPU would otherwise be idle (SCHED_IDLE).
  public static func scheduleOnlyWhenIdle(_ pid: pid_t) {
    _ = hops_schedule_idle(pid)
  }

  /// Back to the normal scheduling class with this nice value (root may do
  /// this to any process).
  public static func scheduleNormally(_ pid: pid_t, nice: Int32) throws(SyscallError) {
    try syscall("sched_setscheduler", "SCHED_OTHER") { hops_schedule_normal(pid, nice) }
  }

  /// The calling thread's nice value (what it starts inherits it).
  public static func setNice(_ value: Int32) {
    _ = hops_nice_self(value)
  }

  /// This process's nice value (its main thread's).
  public static var nice: Int32 { hops_process_nice() }

  /// The name ps and /proc/<pid>/stat show (at most 15 bytes).
  public static func setName(_ name: String) {
    _ = hops_set_name(name)
  }
}

extension ProcessControl {
  /// A new cgroup namespace rooted at the caller's current cgroup. hops-init does
  /// this once the daemon has moved it into its sandbox cgroup, so the sandbox
  /// sees that cgroup as "/".
  public static func newCgroupNamespace() throws(SyscallError) {
    try syscall("unshare", "CLONE_NEWCGROUP") { hops_unshare(Int32(HOPS_CLONE_NEWCGROUP)) }
  }
}
