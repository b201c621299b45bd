import Dispatch
import GRPCCore
import Glibc
import HopsAPI
import HopsCore
import HopsOS

/// The client side of a direct run (see the daemon's DirectRunServer): the
/// request goes to `$HOPS_HOME/run.sock` with this process's stdin, stdout and
/// stderr, the command reads and writes them itself, and the exit comes back.
/// No gRPC connection, no relay: a run starts sooner and streams at the speed
/// of a pipe.
///
/// Used for every run without a terminal whose streams may be passed (see
/// PassedStreams); the rest go through gRPC (`RunClient`), as does a run when
/// the daemon is not there yet (that path starts it).
struct DirectRunClient {
  let home: HopsHome
  let request: Hops_V1_RunRequest
  let verbose: Bool

  /// The streams to pass: ours, or /dev/null for stdin when it is not to be
  /// forwarded; nil when one of them cannot be passed (a terminal, say).
  static func streams(forwardStdin: Bool) -> [Int32]? {
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

  /// The run's exit code; nil when the daemon does not take direct runs now
  /// (not running, or stopping): the caller then goes through gRPC.
  func run(streams: [Int32]) throws -> Int32? {
    guard let fd = UnixSocket.connect(home.directRunSocketPath) else { return nil }
    let channel = ControlChannel(fd: fd)
    defer { channel.close() }
    let input = Hops_V1_DirectRunInput.with { $0.request = request }
    do { try channel.send(try input.serializedBytes(), descriptors: streams) } catch { return nil }

    let signalSources = Self.forwardSignals(over: channel)
    defer { signalSources.forEach { $0.cancel() } }
    while true {
      guard let frame = try? channel.receive() else {
        throw HopsError(
          .unavailable, "the connection to hopsd ended before the command did", hint: "see \(home.logFile)")
      }
      guard let output = try? Hops_V1_DirectRunOutput(serializedBytes: frame) else { continue }
      switch output.kind {
      case .started(let started):
        if verbose {
          Console.error("  Sandbox: \(started.sandboxID)" + (started.address.isEmpty ? "" : " (address \(started.address))"))
        }
      case .exit(let exit):
        RunClient.report(exit, verbose: verbose)
        return exit.code
      case .error(let message):
        throw RPCError(code: .failedPrecondition, message: message)
      case nil:
        continue
      }
    }
  }

  /// Signals a user sends to "the command" go to the sandbox as frames.
  static func forwardSignals(over channel: ControlChannel) -> [any DispatchSourceSignal] {
    RunClient.forwardedSignals.map { number in
      signal(number, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: number)
      source.setEventHandler {
        let input = Hops_V1_DirectRunInput.with { $0.signal = number }
        if let bytes: [UInt8] = try? input.serializedBytes() { try? channel.send(bytes) }
      }
      source.resume()
      return source
    }
  }
}
