import Glibc

/// Where the running executable lives. hops, hopsd and hops-init are built and
/// installed side by side, so each finds the others here.
public enum ExecutablePath {
  /// The directory of the running executable, from /proc/self/exe; nil if unreadable.
  public static func directory() -> String? {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard n > 0 else { return nil }
    let path = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
  }
}
