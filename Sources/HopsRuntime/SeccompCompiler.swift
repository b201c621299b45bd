import CSeccomp
import Glibc
import HopsCore
import HopsOS
import HopsPolicy
import Synchronization

/// Turns a policy's SyscallFilter into the BPF program hops-init installs in the
/// sandbox's processes. Compiled here, in the daemon, once per distinct
/// filter (most sandboxes share the default one): written by hand as
/// intervals of syscall numbers (CSeccomp's program.c; libseccomp resolves
/// the names), or by libseccomp should that ever fail.
public final class SeccompCompiler: Sendable {
  public static let shared = SeccompCompiler()

  /// What makes a filter: the policy's additions and removals (most often
  /// none), not the whole list, which would be built and hashed at every run.
  private struct Key: Hashable {
    var allow: [String]
    var deny: [String]
    var setuidBits: Bool
  }
  private let cache = Mutex<[Key: [UInt8]]>([:])

  /// The program, or nil for an unconfined sandbox.
  public func program(for filter: SyscallFilter) throws -> [UInt8]? {
    guard filter.mode == .default else { return nil }
    let key = Key(allow: filter.allow, deny: filter.deny, setuidBits: filter.setuidBits)
    if let cached = cache.withLock({ $0[key] }) { return cached }
    for name in filter.allow + filter.deny {
      try SyscallFilter.validateName(name)
      guard hops_seccomp_resolve(name) >= 0 else {
        throw HopsError.invalid("'\(name)' is not a system call of this machine", hint: "see syscalls(2) for the names")
      }
    }
    let program = try Self.compile(filter.allowed ?? [], setuidBits: filter.setuidBits)
    cache.withLock { $0[key] = program }
    return program
  }

  /// Which compiler writes the program (see CSeccomp's cseccomp.h).
  enum Writer {
    /// Ours, as intervals of syscall numbers: about a quarter of the length.
    case ranges
    /// libseccomp's: the reference, and the fallback should ours fail.
    case libseccomp
  }

  static func compile(_ names: [String], setuidBits: Bool) throws -> [UInt8] {
    if let program = try? compile(names, setuidBits: setuidBits, writer: .ranges) { return program }
    return try compile(names, setuidBits: setuidBits, writer: .libseccomp)
  }

  static func compile(_ names: [String], setuidBits: Bool, writer: Writer) throws -> [UInt8] {
    var pointer: UnsafeMutableRawPointer?
    var length = 0
    var message = [CChar](repeating: 0, count: 256)
    let flags = setuidBits ? HOPS_SECCOMP_SETUID_BITS : 0
    let result = withCStrings(names) { list in
      switch writer {
      case .ranges:
        hops_seccomp_compile(list, Int32(names.count), flags, &pointer, &length, &message, message.count)
      case .libseccomp:
        hops_seccomp_compile_libseccomp(list, Int32(names.count), flags, &pointer, &length, &message, message.count)
      }
    }
    guard result == 0, let pointer else {
      throw HopsError.failed("cannot compile the seccomp filter: \(CText.string(message))")
    }
    defer { free(pointer) }
    return Array(UnsafeRawBufferPointer(start: pointer, count: length))
  }

  private static func withCStrings<T>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> T) -> T {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    let pointers = copies.map { UnsafePointer($0) }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
  }
}
