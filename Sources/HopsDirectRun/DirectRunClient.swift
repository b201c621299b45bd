import Glibc
import HopsCore
import HopsOS

/// The client side of a direct run (see the daemon's DirectRunServer): the
/// request goes to `$HOPS_HOME/run-2.sock` with this process's stdin, stdout and
/// stderr, the command reads and writes them itself, and the exit comes back.
/// No gRPC connection, no relay: a run starts sooner and streams at the speed
/// of a pipe.
///
/// Used for every run without a terminal whose streams may be passed (see
/// PassedStreams); the rest go through gRPC (the CLI's RunClient), as does a
/// run when the daemon is not there yet (that path starts it).
public struct DirectRunClient {
  let home: HopsHome
  let request: DirectRunRequest
  let watchSignals: SignalWatcher

  /// Starts watching for the forwarded signals, calling its argument with each;
  /// returns what stops it.
  public typealias SignalWatcher = (@escaping @Sendable (Int32) -> Void) -> (() -> Void)

  /// `watchSignals`: how the process catches the signals to forward. hops-cli
  /// has threads of its own and cannot block them in every one, so Dispatch
  /// catches them. (The single-threaded `hops` front, in C, blocks them and
  /// reads a signalfd.)
  public init(home: HopsHome, request: DirectRunRequest, watchSignals: @escaping SignalWatcher) {
    self.home = home
    self.request = request
    self.watchSignals = watchSignals
  }

  /// Signals that a user sends to "the command" and that must reach the sandbox.
  public static let forwardedSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2]

  /// The streams to pass: ours, or /dev/null for stdin when it is not to be
  /// forwarded; nil when one of them cannot be passed (a terminal, say).
  public static func streams(forwardStdin: Bool) -> [Int32]? {
    var stdin: Int32 = 0
    if !forwardStdin || fcntl(0, F_GETFD) < 0 {
      stdin = open("/dev/null", O_RDONLY | O_CLOEXEC)
      guard stdin >= 0 else { return nil }
    }
    let streams = [stdin, 1, 2]
    guard streams.allSatisfy({ PassedStreams.refusal($0) == nil }) else {
      if stdin != 0 { close(stdin) }
      return nil
    }
    return streams
  }

  /// The command's exit; nil when the daemon does not take direct runs now
  /// (not running, or stopping): the caller then goes through gRPC.
  /// `started` learns the sandbox's id and address.
  public func run(streams: [Int32], started: (String, String?) -> Void = { _, _ in }) throws -> DirectRunExit? {
    guard let fd = UnixSocket.connect(home.directRunSocketPath) else { return nil }
    let channel = ControlChannel(fd: fd)
    defer { channel.close() }
    do { try channel.send(Array(DirectRunInput.request(request).json.utf8), descriptors: streams) } catch {
      return nil
    }
    // From here the forwarded signals go on as frames, from the caller's watcher.
    let stopWatching = watchSignals { number in try? channel.send(Array(DirectRunInput.signal(number).json.utf8)) }
    defer { stopWatching() }
    var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    while true {
      entry.revents = 0
      if poll(&entry, 1, -1) < 0 {
        if errno == EINTR { continue }
        throw HopsError.failed("cannot wait for the sandbox: \(String(cString: strerror(errno)))")
      }
      let open = (try? channel.fill()) ?? false
      while let frame = try? channel.nextFrame() {
        guard let output = DirectRunOutput(json: frame) else {
          // The socket's name carries the protocol's version: a frame this
          // build cannot read is a bug, said as such, not a silent wait.
          let text = String(decoding: frame.prefix(200), as: UTF8.self)
          throw HopsError.failed("hopsd sent a message this hops cannot read: \(text)", hint: "see \(home.logFile)")
        }
        switch output {
        case .started(let id, let address): started(id, address)
        case .exit(let exit): return exit
        case .error(let message): throw HopsError.failed(message)
        }
      }
      if !open {
        throw HopsError(
          .unavailable, "the connection to hopsd ended before the command did", hint: "see \(home.logFile)")
      }
    }
  }
}

extension DirectRunExit {
  /// What `hops run` says on stderr about the exit: Hops' reason, if it ended
  /// the command, then `summary` (--verbose), then where --keep left the files.
  public func report(summary: String? = nil) {
    Self.report(message: message, summary: summary, keptPath: keptPath)
  }

  /// The same for any run's exit (a gRPC one's too); empty texts say nothing.
  public static func report(message: String?, summary: String?, keptPath: String?) {
    if let message, !message.isEmpty { Console.error("hops: \(message)") }
    if let summary { Console.error("hops: " + summary) }
    if let keptPath, !keptPath.isEmpty {
      Console.error("hops: sandbox kept at \(keptPath) (its changes to the rootfs are in \(keptPath)/upper)")
    }
  }
}
