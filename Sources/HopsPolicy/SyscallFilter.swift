import HopsCore

/// `[capabilities.seccomp]`: which system calls the sandbox's processes may make.
///
/// The default is an allowlist, as Docker's default profile is, and a little
/// stricter: whatever is not on it fails with EPERM, so a system call added to
/// the kernel tomorrow is refused until someone decides otherwise. A profile can
/// loosen it (`allow`), tighten it (`deny`), or turn it off (`profile =
/// "unconfined"`, for debugging only).
public struct SyscallFilter: Sendable, Equatable {
  public enum Mode: String, Sendable, CaseIterable {
    /// The allowlist below, with `allow` added and `deny` removed.
    case `default`
    /// No filter at all.
    case unconfined
  }

  public var mode: Mode = .default
  /// Names added to the allowlist.
  public var allow: [String] = []
  /// Names removed from it (they then fail with EPERM).
  public var deny: [String] = []
  /// Let the sandbox set setuid and setgid bits (`setuid_bits = true`). Off by
  /// default: the sandbox's root is the host's root, so a setuid file it made
  /// in the workspace would be a setuid-root file on the host.
  public var setuidBits = false

  public init(mode: Mode = .default, allow: [String] = [], deny: [String] = [], setuidBits: Bool = false) {
    self.mode = mode
    self.allow = allow
    self.deny = deny
    self.setuidBits = setuidBits
  }

  /// The names the filter allows; nil when unconfined.
  public var allowed: [String]? {
    guard mode == .default else { return nil }
    let denied = Set(deny)
    var seen = Set<String>()
    return (Self.defaultAllowed + allow).filter { !denied.contains($0) && seen.insert($0).inserted }
  }

  /// A syscall name: lower-case letters, digits and '_'.
  public static func validateName(_ name: String) throws {
    let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789_")
    guard !name.isEmpty, name.count <= 64, name.allSatisfy({ allowed.contains($0) }) else {
      throw HopsError.invalid("'\(name)' is not a system call name", hint: "use names as in syscalls(2), e.g. ptrace")
    }
  }

  /// What ordinary programs (shells, package managers, compilers, interpreters,
  /// servers, debuggers of their own children) need. Left out, among others:
  /// mount and the new mount API, umount, pivot_root, chroot escapes' helpers
  /// (open_by_handle_at, name_to_handle_at), unshare and setns (no namespaces;
  /// `clone` is allowed without namespace flags only, and clone3 says ENOSYS so
  /// the C library falls back to clone), keyctl/add_key/request_key, bpf,
  /// perf_event_open, userfaultfd, io_uring, kernel modules, kexec, reboot, swap,
  /// quotas, acct, syslog, the clocks' setters, iopl/ioperm, process_vm_*, kcmp,
  /// NUMA policy calls, personality except the harmless personas, and every
  /// legacy or 32-bit-only call.
  public static let defaultAllowed: [String] = [
    // Files and directories.
    "access", "chdir", "chmod", "chown", "close", "close_range", "copy_file_range", "creat", "dup", "dup2", "dup3",
    "faccessat", "faccessat2", "fadvise64", "fallocate", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown",
    "fchownat", "fcntl", "fdatasync", "fgetxattr", "flistxattr", "flock", "fremovexattr", "fsetxattr", "fstat",
    "fstatfs", "fsync", "ftruncate", "futimesat", "getcwd", "getdents", "getdents64", "getxattr", "lchown",
    "lgetxattr", "link", "linkat", "listxattr", "llistxattr", "lremovexattr", "lseek", "lsetxattr", "lstat", "mkdir",
    "mkdirat", "mknod", "mknodat", "newfstatat", "open", "openat", "openat2", "pread64", "preadv", "preadv2",
    "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv", "removexattr",
    "rename", "renameat", "renameat2", "rmdir", "sendfile", "setxattr", "splice", "stat", "statfs", "statx",
    "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "tee", "truncate", "umask", "unlink", "unlinkat",
    "utime", "utimensat", "utimes", "vmsplice", "write", "writev", "chroot", "getxattrat", "setxattrat",
    "listxattrat", "removexattrat", "cachestat",
    // Watching files and descriptors.
    "epoll_create", "epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_pwait2", "epoll_wait", "eventfd", "eventfd2",
    "fanotify_mark", "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "poll", "ppoll",
    "pipe", "pipe2", "pselect6", "select", "signalfd", "signalfd4", "timerfd_create", "timerfd_gettime", "timerfd_settime",
    // Asynchronous I/O (not io_uring).
    "io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_setup", "io_submit", "ioctl",
    // Memory.
    "brk", "madvise", "membarrier", "memfd_create", "mincore", "mlock", "mlock2", "mlockall", "mmap", "mprotect",
    "mremap", "msync", "munlock", "munlockall", "munmap", "pkey_alloc", "pkey_free", "pkey_mprotect",
    "remap_file_pages", "map_shadow_stack", "mseal", "process_madvise", "process_mrelease",
    // Processes, threads and signals.
    "arch_prctl", "capget", "capset", "clone", "clone3", "execve", "execveat", "exit", "exit_group", "fork",
    "futex", "futex_waitv", "futex_wait", "futex_wake", "futex_requeue", "get_robust_list", "get_thread_area",
    "getcpu", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrlimit", "getrusage", "getsid", "gettid",
    "ioprio_get", "ioprio_set", "kill", "pause", "personality", "pidfd_open", "pidfd_send_signal", "pidfd_getfd",
    "prctl", "prlimit64", "ptrace", "restart_syscall", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask",
    "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_tgsigqueueinfo", "sched_get_priority_max",
    "sched_get_priority_min", "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_getscheduler",
    "sched_rr_get_interval", "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler",
    "sched_yield", "seccomp", "set_robust_list", "set_thread_area", "set_tid_address", "setpgid", "setpriority",
    "setrlimit", "setsid", "sigaltstack", "tgkill", "tkill", "vfork", "wait4", "waitid", "landlock_add_rule",
    "landlock_create_ruleset", "landlock_restrict_self",
    // Users and groups (within the sandbox's capabilities).
    "getegid", "geteuid", "getgid", "getgroups", "getresgid", "getresuid", "getuid", "setfsgid", "setfsuid", "setgid",
    "setgroups", "setregid", "setresgid", "setresuid", "setreuid", "setuid",
    // Time (reading it; sleeping; timers).
    "alarm", "clock_getres", "clock_gettime", "clock_nanosleep", "getitimer", "gettimeofday", "nanosleep",
    "setitimer", "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_settime",
    "times",
    // Sockets (raw ones still need CAP_NET_RAW, which the sandbox has not).
    "accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt", "listen", "recvfrom",
    "recvmmsg", "recvmsg", "sendmmsg", "sendmsg", "sendto", "setsockopt", "shutdown", "socket", "socketpair",
    // System V and POSIX IPC (the sandbox's own ipc namespace).
    "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedsend", "mq_unlink", "msgctl", "msgget",
    "msgrcv", "msgsnd", "semctl", "semget", "semop", "semtimedop", "shmat", "shmctl", "shmdt", "shmget",
    // The system, read-only.
    "getrandom", "sysinfo", "uname",
  ]
}
