import Glibc

/// Writes to stderr without buffering, so messages and the sandbox's own stderr
/// keep their order.
public enum Console {
  public static func error(_ text: String) { write(2, text.hasSuffix("\n") ? text : text + "\n") }

  public static func write(_ fd: Int32, _ text: String) {
    var bytes = Array(text.utf8)
    write(fd, &bytes)
  }

  public static func write(_ fd: Int32, _ bytes: inout [UInt8]) {
    var offset = 0
    while offset < bytes.count {
      let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
      if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { return }
    }
  }
}

/// Exit codes of Hops' own failures (DESIGN.md, "Exit codes of hops run").
public enum ExitCodes {
  /// Hops itself failed: bad flag, bad input, no daemon.
  public static let hopsFailure: Int32 = 125
}
