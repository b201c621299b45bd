import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Glibc
import HopsAPI
import HopsCore
import HopsOS

/// Reaching hopsd: probe its socket, start it when it is not running (unless told
/// not to), and run gRPC calls over the socket.
struct DaemonConnection {
  let home: HopsHome

  /// True when something accepts connections on the daemon's socket.
  func isRunning() -> Bool {
    guard let fd = UnixSocket.connect(home.socketPath) else { return false }
    close(fd)
    return true
  }

  /// Makes sure a daemon is serving; starts one when allowed.
  func ensureRunning(autoStart: Bool) throws {
    if isRunning() { return }
    guard autoStart else {
      throw HopsError(
        .unavailable, "hopsd is not running (no daemon at \(home.socketPath))",
        hint: "start it with 'hops system start', or drop --no-auto-start")
    }
    try startDaemon()
  }

  /// Starts hopsd in the background and waits until it accepts connections.
  func startDaemon() throws {
    guard geteuid() == 0 else {
      throw HopsError(
        .unavailable, "hopsd must run as root to create namespaces and mounts",
        hint: "run hops as root, e.g. with sudo")
    }
    let daemon = try Self.daemonExecutable()
    var pid = pid_t()
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    // The daemon must not hold our stdout or stderr: whoever reads them (a pipe,
    // a test) would never see end-of-file. Its stderr is a pipe of ours while
    // it starts: a daemon that ends before it serves says why there, which
    // may be before it has a log (a home it cannot make, say).
    let said: (read: Int32, write: Int32)
    do { said = try FD.pipe() } catch { throw HopsError(.unavailable, "cannot start hopsd: \(error)") }
    defer { close(said.read) }
    for fd: Int32 in 0...1 {
      posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
    }
    posix_spawn_file_actions_adddup2(&actions, said.write, 2)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    // POSIX_SPAWN_SETSID (0x80 in glibc; Swift does not see the macro): the daemon
    // must not share our session, or a terminal hang-up would reach it.
    posix_spawnattr_setflags(&attributes, 0x80)
    let argv: [UnsafeMutablePointer<CChar>?] = [strdup(daemon), strdup("--home"), strdup(home.root), nil]
    defer { argv.forEach { free($0) } }
    let result = posix_spawn(&pid, daemon, &actions, &attributes, argv, environ)
    close(said.write)
    guard result == 0 else {
      throw HopsError(.unavailable, "cannot start \(daemon): \(String(cString: strerror(result)))")
    }
    // Poll for the socket; reap the daemon early if it exits (for example
    // because another one won the race, which is fine).
    for _ in 0..<1000 {
      if isRunning() { return }
      var status: Int32 = 0
      if waitpid(pid, &status, WNOHANG) == pid {
        if isRunning() { return }
        for _ in 0..<100 {
          if isRunning() { return }
          usleep(10_000)
        }
        let words = Self.readWaiting(said.read).trimmed
        guard !words.isEmpty else {
          throw HopsError(.unavailable, "hopsd exited during start-up", hint: "see \(home.logFile)")
        }
        // Its own message ("hopsd: cannot create ...: ... (check that ...)").
        let message = words.hasPrefix("hopsd: ") ? String(words.dropFirst(7)) : words
        throw HopsError(.unavailable, "hopsd exited during start-up: \(message)")
      }
      usleep(10_000)
    }
    throw HopsError(.unavailable, "hopsd did not start listening within 10 s", hint: "see \(home.logFile)")
  }

  /// What a pipe holds now (at most 64 KiB), without waiting for more: a
  /// child of the daemon's could hold its write end still.
  static func readWaiting(_ fd: Int32) -> String {
    try? FD.setNonBlocking(fd)
    var bytes: [UInt8] = []
    // Ends at end of file, or at EAGAIN (a read that throws).
    while bytes.count < 64 << 10, let chunk = try? FD.read(fd, max: 4096), !chunk.isEmpty { bytes += chunk }
    return String(decoding: bytes, as: UTF8.self)
  }

  /// `$HOPS_DAEMON`, else `hopsd` beside this `hops` executable.
  static func daemonExecutable() throws -> String {
    if let value = getenv("HOPS_DAEMON").map({ String(cString: $0) }), !value.isEmpty { return value }
    guard let directory = ExecutablePath.directory() else {
      throw HopsError(.unavailable, "cannot locate hopsd", hint: "set HOPS_DAEMON")
    }
    let candidate = directory + "/hopsd"
    guard access(candidate, X_OK) == 0 else {
      throw HopsError(.unavailable, "hopsd not found at \(candidate)", hint: "build it with 'swift build' or set HOPS_DAEMON")
    }
    return candidate
  }

  /// HTTP/2 flow-control window and frame size, the same on both sides.
  static let streamWindow = 1 << 20
  static let frameSize = 256 << 10

  /// Runs `body` with a client connected to the daemon.
  func withClient<T: Sendable>(
    _ body: @Sendable @escaping (Hops_V1_Hops.Client<HTTP2ClientTransport.Posix>) async throws -> T
  ) async throws -> T {
    let transport = try HTTP2ClientTransport.Posix(
      target: .unixDomainSocket(path: home.socketPath),
      transportSecurity: .plaintext,
      config: .defaults { config in
        // A stream's stdin and stdout are bulk data over a local socket: the
        // HTTP/2 default window (64 KiB) made every 64 KiB wait for a round trip.
        config.http2.targetWindowSize = Self.streamWindow
        config.http2.maxFrameSize = Self.frameSize
      })
    return try await withGRPCClient(transport: transport) { client in
      try await body(Hops_V1_Hops.Client(wrapping: client))
    }
  }

  /// The options of every call: fail at once when the daemon is not there instead
  /// of waiting for it to appear.
  static var callOptions: CallOptions {
    var options = CallOptions.defaults
    options.waitForReady = false
    return options
  }
}
