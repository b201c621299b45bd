import CHops
import Glibc

/// Linux capabilities by name, and limiting the calling process to a set of them.
public enum Capabilities {
  /// Names from linux/capability.h, each at its number. An array, not a
  /// dictionary: hops-init looks a handful up once, and a dictionary's first
  /// use would cost it a search of every protocol conformance in the binary.
  public static let names: [String] = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
    "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
  ]

  /// The number of a capability named as in linux/capability.h.
  public static func number(of name: String) -> Int32? {
    names.firstIndex(of: name).map { Int32($0) }
  }

  /// Keeps exactly `names` in the bounding, effective, permitted and inheritable
  /// sets and clears the ambient set.
  public static func limit(to names: [String]) throws(SyscallError) {
    var keep: [Int32] = []
    for name in names {
      guard let number = number(of: name) else { throw SyscallError("capset", errno: EINVAL, detail: name) }
      keep.append(number)
    }
    let result = keep.withUnsafeBufferPointer { hops_limit_capabilities($0.baseAddress, Int32($0.count)) }
    if result < 0 { throw SyscallError("capset", errno: -result) }
  }
}
