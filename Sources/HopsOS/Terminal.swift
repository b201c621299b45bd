import CHops
import Glibc

/// Pseudo-terminals and terminal modes.
public enum Terminal {
  public struct Size: Sendable, Equatable, Codable {
    public var rows: UInt16
    public var columns: UInt16
    public init(rows: UInt16, columns: UInt16) {
      self.rows = rows
      self.columns = columns
    }
  }

  /// A new pseudo-terminal from /dev/ptmx: (master, slave), both close-on-exec.
  public static func openPTY(size: Size?) throws(SyscallError) -> (master: Int32, slave: Int32) {
    var master: Int32 = -1
    var slave: Int32 = -1
    let result = hops_open_pty(&master, &slave, size?.rows ?? 0, size?.columns ?? 0)
    if result < 0 { throw SyscallError("openpty", errno: -result, detail: "/dev/ptmx") }
    return (master, slave)
  }

  public static func setSize(_ fd: Int32, _ size: Size) {
    _ = hops_set_window_size(fd, size.rows, size.columns)
  }

  public static func size(of fd: Int32) -> Size? {
    var rows: UInt16 = 0
    var columns: UInt16 = 0
    guard hops_get_window_size(fd, &rows, &columns) == 0, rows > 0, columns > 0 else { return nil }
    return Size(rows: rows, columns: columns)
  }

  public static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

  /// Puts a terminal in raw mode; `restore()` on the result puts it back.
  public final class RawMode: @unchecked Sendable {
    public let fd: Int32
    private var saved = [UInt8](repeating: 0, count: 256)
    private var active = false

    public init(fd: Int32) throws(SyscallError) {
      self.fd = fd
      let result = saved.withUnsafeMutableBytes { hops_make_raw(fd, $0.baseAddress) }
      if result < 0 { throw SyscallError("tcsetattr", errno: -result, detail: "raw mode") }
      active = true
    }

    public func restore() {
      guard active else { return }
      active = false
      _ = saved.withUnsafeBytes { hops_restore_terminal(fd, $0.baseAddress) }
    }
  }
}
