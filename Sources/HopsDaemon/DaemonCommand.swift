import ArgumentParser
import Glibc
import HopsCore
import HopsRuntime
import Logging

/// `hopsd [--foreground]`: the daemon's entry point.
public struct DaemonCommand: AsyncParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "hopsd",
    abstract: "The Hops daemon: runs sandboxes for the hops CLI.",
    discussion: "Usually started by 'hops' on first use. Serves $HOPS_HOME/hops.sock.",
    version: HopsVersion.current)

  @Flag(help: "Log to the terminal instead of $HOPS_HOME/hopsd.log, and stay attached to it.")
  var foreground = false

  @Option(help: "Use this directory instead of $HOPS_HOME (default ~/.hops).")
  var home: String?

  @Option(help: "Also let this group use the socket (default: $HOPS_SOCKET_GROUP; none). Membership is as powerful as root.")
  var socketGroup: String?

  @Option(help: "Most sandboxes running at once (default: $HOPS_MAX_SANDBOXES, or \(DaemonLimits.defaultMaxSandboxes)).")
  var maxSandboxes: Int?

  @Option(help: "Sandboxes to keep started ahead of need, for faster launches; 0 for none (default: $HOPS_WARM_SANDBOXES, or \(DaemonLimits.defaultWarmSandboxes)).")
  var warmSandboxes: Int?

  public init() {}

  public func run() async throws {
    let home = self.home.map { HopsHome(root: $0) } ?? HopsHome.fromEnvironment()
    guard geteuid() == 0 else {
      FileHandleStderr.write("hopsd: must run as root (it creates namespaces and mounts)\n")
      throw ExitCode(125)
    }
    // Our own writes to a pipe whose reader left must fail with EPIPE, not kill us.
    signal(SIGPIPE, SIG_IGN)

    let logFD: Int32
    if foreground {
      logFD = 2
    } else {
      // Until the log is open, stderr is all we have: `hops` reads it while
      // we start (a home that cannot be made, say).
      do { try HomeSetup.ensureDirectories(home) } catch {
        FileHandleStderr.write("hopsd: \(error)\n")
        throw ExitCode(125)
      }
      logFD = open(home.logFile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
      guard logFD >= 0 else {
        FileHandleStderr.write("hopsd: cannot open \(home.logFile): \(String(cString: strerror(errno)))\n")
        throw ExitCode(125)
      }
      // From here on stderr is the log too (what the runtime says as it
      // crashes lands there); the stderr we were given (`hops`'s pipe while
      // we start) keeps only the reason we end for, if we do.
      FileHandleStderr.fd = fcntl(2, F_DUPFD_CLOEXEC, 3)
      dup2(logFD, 2)
      // Detach from the terminal and session of whoever started us.
      _ = setsid()
    }
    LoggingSystem.bootstrap { label in FileLogHandler(label: label, fd: logFD) }
    let logger = Logger(label: "hopsd")
    let environment = { (name: String) in getenv(name).map { String(cString: $0) } }
    do {
      let access = SocketAccess(group: try SocketAccess.resolveGroup(socketGroup ?? environment("HOPS_SOCKET_GROUP")), logger: logger)
      var limits = DaemonLimits()
      if let max = maxSandboxes ?? environment("HOPS_MAX_SANDBOXES").flatMap({ Int($0) }) {
        guard max > 0 else { throw HopsError.invalid("--max-sandboxes must be at least 1") }
        limits.maxSandboxes = max
      }
      if let warm = warmSandboxes ?? environment("HOPS_WARM_SANDBOXES").flatMap({ Int($0) }) {
        guard (0...64).contains(warm) else { throw HopsError.invalid("--warm-sandboxes must be between 0 and 64") }
        limits.warmSandboxes = warm
      }
      try await Daemon(home: home, logger: logger, access: access, limits: limits).run()
    } catch let error as HopsError {
      logger.error("\(error.description)")
      FileHandleStderr.write("hopsd: \(error.description)\n")
      throw ExitCode(error.kind == .alreadyExists ? 1 : 125)
    }
  }
}

enum FileHandleStderr {
  /// The stderr we were started with (see `run`).
  nonisolated(unsafe) static var fd: Int32 = 2

  static func write(_ text: String) {
    _ = text.withCString { Glibc.write(fd, $0, strlen($0)) }
  }
}
