import FoundationEssentials
import Glibc
import HopsCore
import HopsOS

/// `$HOPS_HOME/hopsd.pid`, held with an exclusive flock for the daemon's life.
/// The lock, not the file's existence, says a daemon runs: a file left by a
/// crashed daemon is unlocked and simply taken over.
final class PidFile: Sendable {
  let path: String
  private let fd: Int32

  init(path: String) throws {
    self.path = path
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw HopsError.failed("cannot open \(path): \(errnoString(errno))") }
    guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
      let other = PidFile.read(path).map { " (pid \($0))" } ?? ""
      close(fd)
      throw HopsError(.alreadyExists, "hopsd is already running\(other)", hint: "stop it with 'hops system stop'")
    }
    ftruncate(fd, 0)
    let text = "\(getpid())\n"
    _ = text.withCString { write(fd, $0, strlen($0)) }
  }

  /// Removes the file, then releases the lock by closing it.
  func release() {
    unlink(path)
    close(fd)
  }

  static func read(_ path: String) -> Int32? {
    guard let data = FileManager.default.contents(atPath: path) else { return nil }
    return Int32(String(decoding: data, as: UTF8.self).trimmed)
  }
}
