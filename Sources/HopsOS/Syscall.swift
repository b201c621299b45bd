import Glibc
import HopsCore

/// An error from one system call: names the call and what it was applied to, so a
/// message like "mount(/x): Permission denied" says where to look.
public struct SyscallError: Error, CustomStringConvertible, Sendable {
  public let call: String
  public let errno: Int32
  public let detail: String?

  public init(_ call: String, errno: Int32, detail: String? = nil) {
    self.call = call
    self.errno = errno
    self.detail = detail
  }

  public var description: String {
    let what = detail.map { "\(call)(\($0))" } ?? call
    return "\(what): \(String(cString: strerror(errno)))"
  }

  public var asHopsError: HopsError { HopsError.failed(description) }
}

/// The one door to the kernel: retries EINTR and turns -1 into a `SyscallError`
/// that names the call. Everything in HopsOS goes through it.
@discardableResult
@inline(__always)
public func syscall<T: FixedWidthInteger>(
  _ name: String, _ detail: @autoclosure () -> String? = nil, _ body: () -> T
) throws(SyscallError) -> T {
  while true {
    let result = body()
    if result != -1 { return result }
    let code = Glibc.errno
    if code == EINTR { continue }
    throw SyscallError(name, errno: code, detail: detail())
  }
}

/// The current errno as a readable string.
public func errnoString(_ code: Int32) -> String { String(cString: strerror(code)) }
