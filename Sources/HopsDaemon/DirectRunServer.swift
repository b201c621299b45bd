import Glibc
import HopsAPI
import HopsCore
import HopsOS
import Logging
import Synchronization

/// Direct runs: `hops run` without a terminal hands the daemon its own stdin,
/// stdout and stderr on `$HOPS_HOME/run-2.sock`, and the sandbox's command reads
/// and writes them itself. Nothing is relayed (a stream goes at the speed of a
/// pipe), and a run costs one connection and a few small frames instead of an
/// HTTP/2 connection and a gRPC call (the protocol: HopsDirectRun's
/// DirectRunMessages).
///
/// The socket has the same owner, mode and peer check as the gRPC one: what
/// one may ask here, one may ask there. Each connection gets a thread of its
/// own: its work blocks (spawning, mounts, waiting for the exit). Threads are
/// reused from one run to the next (ReusedThreads).
final class DirectRunServer: Sendable {
  let path: String
  private let listener: Int32
  private let starter: SandboxStarter
  private let access: SocketAccess
  private let logger: Logger
  private let stopped = Atomic<Bool>(false)
  /// As many kept as runs usually go at once on a busy host; more start when needed.
  private let threads = ReusedThreads(name: "hopsd-run", keepIdle: 16)

  init(home: HopsHome, starter: SandboxStarter, access: SocketAccess, logger: Logger) throws {
    path = home.directRunSocketPath
    self.starter = starter
    self.access = access
    self.logger = logger
    unlink(path)
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw HopsError.failed("cannot create \(path): \(errnoString(errno))") }
    do {
      do { try UnixSocket.bind(fd, path: path) } catch {
        throw HopsError.failed("cannot bind \(path): \(error)", hint: "use a shorter HOPS_HOME if the path is long")
      }
      guard listen(fd, 128) == 0 else { throw HopsError.failed("cannot listen on \(path): \(errnoString(errno))") }
    } catch {
      close(fd)
      unlink(path)
      throw error
    }
    listener = fd
    access.secure(socket: path, home: home)
  }

  /// Accepts connections on a thread of its own until `stop`.
  func serve() throws {
    let started = Threads.start(name: "hopsd-accept") { [self] in
      while true {
        let connection = UnixSocket.accept(listener)
        if connection < 0 {
          if errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE {
            if errno == EMFILE || errno == ENFILE { usleep(10_000) }
            continue
          }
          return  // the listener was shut down
        }
        if stopped.load(ordering: .relaxed) {
          close(connection)
          continue
        }
        let session = DirectRunSession(fd: connection, starter: starter, access: access, logger: logger)
        // A connection without a thread of its own is closed: the client
        // sees it end and says so; the accept loop never runs a session.
        if !threads.run({ session.serve() }) {
          logger.warning("refused a direct run", metadata: ["reason": "no thread for it"])
          close(connection)
        }
      }
    }
    guard started else { throw HopsError.failed("cannot start a thread for \(path)") }
  }

  /// No new runs: the socket goes, and `accept` returns.
  func stop() {
    guard !stopped.exchange(true, ordering: .relaxed) else { return }
    unlink(path)
    shutdown(listener, Int32(SHUT_RDWR))
  }
}
