import CSeccomp
import Glibc
import HopsCore
import HopsPolicy
import Testing

@testable import HopsRuntime

/// The compiled filter, installed in a forked child that then makes the call.
/// Every call below fails harmlessly if the filter lets it through (bad
/// arguments), and differently from EPERM, so each test also tells the filter
/// from the kernel's own refusal.
@Suite struct SeccompTests {
  let program: [UInt8]

  init() throws {
    program = try #require(try SeccompCompiler.shared.program(for: SyscallFilter()))
  }

  func attempt(_ program: [UInt8], _ name: String, _ a0: Int = 0, _ a1: Int = 0, _ a2: Int = 0) -> Int32 {
    let nr = hops_seccomp_resolve(name)
    precondition(nr >= 0, "no syscall \(name)")
    return program.withUnsafeBytes { hops_seccomp_try($0.baseAddress, $0.count, Int(nr), a0, a1, a2) }
  }

  @Test func ordinaryCallsPass() {
    #expect(attempt(program, "getpid") == 0)
    #expect(attempt(program, "uname", 0) == EFAULT, "reaches the kernel, which finds no buffer")
    #expect(attempt(program, "personality", 0xffff_ffff) == 0, "querying the persona is fine")
  }

  @Test(arguments: ["mount", "umount2", "pivot_root", "unshare", "setns", "keyctl", "add_key", "request_key", "bpf",
                    "perf_event_open", "init_module", "finit_module", "delete_module", "kexec_load", "open_by_handle_at",
                    "name_to_handle_at", "userfaultfd", "io_uring_setup", "swapon", "acct", "syslog", "fsopen",
                    "move_mount", "open_tree", "process_vm_readv", "kcmp", "iopl", "ioperm", "quotactl",
                    "settimeofday", "clock_settime", "clock_adjtime", "lookup_dcookie", "mbind"])
  func dangerousCallsFailWithEPERM(name: String) {
    #expect(attempt(program, name) == EPERM)
  }

  @Test func namespacesCannotBeMadeThroughClone() {
    // CLONE_NEWUSER, CLONE_NEWNS
    #expect(attempt(program, "clone", 0x1000_0000 | Int(SIGCHLD)) == EPERM)
    #expect(attempt(program, "clone", 0x0002_0000 | Int(SIGCHLD)) == EPERM)
    #expect(attempt(program, "clone3") == ENOSYS, "so that the C library falls back to clone")
    #expect(attempt(program, "personality", 0x0040000) == EPERM, "ADDR_NO_RANDOMIZE is not a harmless persona")
  }

  @Test func setuidAndSetgidBitsCannotBeSet() throws {
    let missing = "/nonexistent/hops-seccomp-test"
    missing.withCString { path in
      let address = Int(bitPattern: path)
      // The kernel would say ENOENT; the filter says EPERM first.
      #expect(attempt(program, "chmod", address, 0o4755) == EPERM)
      #expect(attempt(program, "chmod", address, 0o2755) == EPERM)
      #expect(attempt(program, "chmod", address, 0o755) == ENOENT)
      #expect(attempt(program, "creat", address, 0o4755) == EPERM)
      #expect(attempt(program, "openat", Int(AT_FDCWD), address) == ENOENT)
    }
    #expect(attempt(program, "openat2") == ENOSYS)
    let loose = try #require(try SeccompCompiler.shared.program(for: SyscallFilter(setuidBits: true)))
    missing.withCString { path in
      #expect(attempt(loose, "chmod", Int(bitPattern: path), 0o4755) == ENOENT)
    }
  }

  @Test func otherArchitecturesAreRefused() {
    // The x32 ABI (bit 30 set) is another architecture to seccomp.
    let nr = Int(hops_seccomp_resolve("getpid")) | 0x4000_0000
    #expect(program.withUnsafeBytes { hops_seccomp_try($0.baseAddress, $0.count, nr, 0, 0, 0) } == EPERM)
  }

  @Test func profilesLoosenAndTighten() throws {
    let loose = try #require(try SeccompCompiler.shared.program(for: SyscallFilter(allow: ["mount"])))
    #expect(attempt(loose, "mount") == EFAULT || attempt(loose, "mount") == EPERM)
    #expect(attempt(loose, "mount", 1, 1, 1) != 0)
    let tight = try #require(try SeccompCompiler.shared.program(for: SyscallFilter(deny: ["getpid"])))
    #expect(attempt(tight, "getpid") == EPERM)
    #expect(try SeccompCompiler.shared.program(for: SyscallFilter(mode: .unconfined)) == nil)
    #expect(throws: HopsError.self) { try SeccompCompiler.shared.program(for: SyscallFilter(allow: ["no_such_call"])) }
    #expect(throws: HopsError.self) { try SeccompCompiler.shared.program(for: SyscallFilter(deny: ["Bad Name"])) }
  }
}

/// Hops writes the filter itself, as ranges of syscall numbers (CSeccomp's
/// program.c); it must decide exactly as libseccomp's program for the same
/// rules does. Both are run, without making any call, on every syscall
/// number, for this architecture, another one and x32, with every argument
/// the rules look at.
@Suite struct SeccompProgramTests {
  static let x86_64: UInt32 = 0xC000_003E  // AUDIT_ARCH_X86_64
  static let i386: UInt32 = 0x4000_0003  // AUDIT_ARCH_I386

  /// Arguments that matter to some rule (flags of clone, modes, personas), in
  /// each of the six places, with and without bits in the high half.
  static let argumentSets: [[UInt64]] = {
    let values: [UInt64] = [
      0, 0o755, 0o4755, 0o2755, 0o6000, 0x0002_0000, 0x1000_0000, 0x4000_0000, 0x0000_0080, 0x0000_0100, 0x11,
      0x0008, 0x20000, 0x20008, 0xffff_ffff, 0x0040000, 0x1_0000_0000, 0xffff_ffff_ffff_ffff, 0x1_0000_0008,
    ]
    var sets: [[UInt64]] = [[0, 0, 0, 0, 0, 0]]
    for position in 0..<6 {
      for value in values {
        var set: [UInt64] = [0, 0, 0, 0, 0, 0]
        set[position] = value
        sets.append(set)
      }
    }
    return sets
  }()

  static let filters: [SyscallFilter] = [
    SyscallFilter(), SyscallFilter(setuidBits: true), SyscallFilter(allow: ["mount", "unshare"]),
    SyscallFilter(deny: ["getpid", "clone", "chmod", "personality"]),
  ]

  @Test(arguments: filters) func decidesAsLibseccompDoes(_ filter: SyscallFilter) throws {
    let names = try #require(filter.allowed)
    let ours = try SeccompCompiler.compile(names, setuidBits: filter.setuidBits, writer: .ranges)
    let reference = try SeccompCompiler.compile(names, setuidBits: filter.setuidBits, writer: .libseccomp)
    #expect(ours.count * 3 < reference.count, "ours: \(ours.count / 8), libseccomp's: \(reference.count / 8) instructions")
    var differences: [String] = []
    for arch in [Self.x86_64, Self.i386] {
      for nr in Array(0..<1024) + [0x4000_0000, 0x4000_0027, 0x4000_0200, Int(Int32.max)] {
        for args in Self.argumentSets where differences.count < 10 {
          let a = args.withUnsafeBufferPointer { pointer in
            ours.withUnsafeBytes { hops_seccomp_evaluate($0.baseAddress, $0.count, arch, Int32(truncatingIfNeeded: nr), pointer.baseAddress) }
          }
          let b = args.withUnsafeBufferPointer { pointer in
            reference.withUnsafeBytes { hops_seccomp_evaluate($0.baseAddress, $0.count, arch, Int32(truncatingIfNeeded: nr), pointer.baseAddress) }
          }
          if a != b || a == HOPS_SECCOMP_EVALUATE_INVALID {
            differences.append("arch \(arch) nr \(nr) args \(args): ours \(a), libseccomp \(b)")
          }
        }
      }
    }
    #expect(differences.isEmpty, "\(differences)")
  }
}
