import Glibc
import HopsCore

/// Where the daemon finds hops-init: `$HOPS_INIT`, else beside the daemon's own
/// executable (they are built and installed together).
public enum Executables {
  public static func hopsInit() throws -> String {
    if let value = getenv("HOPS_INIT").map({ String(cString: $0) }), !value.isEmpty {
      guard access(value, X_OK) == 0 else {
        throw HopsError(.unavailable, "HOPS_INIT=\(value) is not an executable file")
      }
      return value
    }
    let candidate = selfDirectory() + "/hops-init"
    guard access(candidate, X_OK) == 0 else {
      throw HopsError(.unavailable, "hops-init not found at \(candidate)", hint: "build it with 'swift build' or set HOPS_INIT")
    }
    return candidate
  }

  /// The directory of the running executable, from /proc/self/exe.
  public static func selfDirectory() -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard n > 0 else { return "." }
    let path = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
  }
}
