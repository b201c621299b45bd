import Dispatch
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Glibc
import HopsAPI
import HopsCore
import HopsDirectRun
import HopsOS

/// The client side of one run: stdin, signals and the request go up one stream;
/// stdout, stderr and the exit come down the other.
struct RunClient {
  typealias Mode = StdioMode

  /// Which call carries the stream.
  enum Call {
    case run, exec
  }

  /// The first message: the run's or the exec's request.
  let first: Hops_V1_RunInput
  let call: Call
  let verbose: Bool
  let mode: Mode

  static func mode(tty: Bool, interactive: Bool, noInteractive: Bool) throws -> Mode {
    try StdioMode.choose(tty: tty, interactive: interactive, noInteractive: noInteractive)
  }

  /// Signals that a user sends to "the command" and that must reach the sandbox.
  static let forwardedSignals = DirectRunClient.forwardedSignals

  func run(on connection: DaemonConnection) async throws -> Int32 {
    let (outgoing, sender) = AsyncStream<Hops_V1_RunInput>.makeStream()
    sender.yield(first)
    var rawMode: HopsOS.Terminal.RawMode?
    if mode == .terminal {
      rawMode = try? HopsOS.Terminal.RawMode(fd: 0)
      TerminalRestore.arm(rawMode)
    }
    if mode != .pipes(forwardStdin: false) {
      Self.pumpStdin(into: sender)
    } else {
      sender.yield(.with { $0.stdinEof = true })
    }
    // Signals and window sizes travel on their own calls (Control), never behind
    // stdin that the command is not reading.
    let (controls, controlSender) = AsyncStream<Hops_V1_ControlRequest>.makeStream()
    var signalSources = Self.forwardSignals(into: controlSender)
    if mode == .terminal { signalSources.append(Self.followWindowSize(into: controlSender)) }
    defer { controlSender.finish() }
    defer {
      signalSources.forEach { $0.cancel() }
      sender.finish()
      // Every way out of a run passes here: the local terminal gets its settings
      // back before anything else is printed.
      rawMode?.restore()
    }
    let verbose = self.verbose
    let home = connection.home
    let terminal = rawMode
    do {
      return try await connection.withClient { client in
        let sandboxID = SandboxIDBox()
        let controlTask = Task {
          for await var control in controls {
            guard let started = await sandboxID.value() else { continue }
            control.sandboxID = started.sandboxID
            control.execID = started.execID
            _ = try? await client.control(control, options: DaemonConnection.callOptions)
          }
        }
        defer { controlTask.cancel() }
        let request = StreamingClientRequest(of: Hops_V1_RunInput.self) { writer in
          for await message in outgoing { try await writer.write(message) }
        }
        let handle: @Sendable (StreamingClientResponse<Hops_V1_RunOutput>) async throws -> Int32 = { response in
          for try await message in response.messages {
            switch message.kind {
            case .stdout(let data): Console.write(1, data)
            case .stderr(let data): Console.write(2, data)
            case .started(let started):
              await sandboxID.set(started)
              if verbose {
                Console.error("  Sandbox: \(started.sandboxID)" + (started.address.isEmpty ? "" : " (address \(started.address))"))
              }
            case .exit(let exit):
              // Raw mode has output processing off: lines would staircase.
              terminal?.restore()
              Self.report(exit, verbose: verbose)
              sender.finish()
              return exit.code
            case nil:
              continue
            }
          }
          throw HopsError(.unavailable, "the connection to hopsd ended before the command did", hint: "see \(home.logFile)")
        }
        switch call {
        case .run: return try await client.run(request: request, options: DaemonConnection.callOptions, onResponse: handle)
        case .exec: return try await client.exec(request: request, options: DaemonConnection.callOptions, onResponse: handle)
        }
      }
    } catch let error as RPCError where error.code == .unavailable {
      throw HopsError(.unavailable, "lost the connection to hopsd: \(error.message)", hint: "see \(home.logFile)")
    }
  }

  /// What the user learns at the end of a run besides its exit code: why Hops
  /// ended it, its usage (with --verbose), where it was kept.
  static func report(_ exit: Hops_V1_RunExit, verbose: Bool) {
    DirectRunExit.report(
      message: exit.message, summary: verbose ? UsageText.summary(exit.usage) : nil, keptPath: exit.keptPath)
  }

  /// Reads stdin on its own thread (reads block) and sends it up, then end-of-file.
  static func pumpStdin(into sender: AsyncStream<Hops_V1_RunInput>.Continuation) {
    let thread = StdinThread(sender: sender)
    thread.start()
  }

  /// SIGWINCH: the new size goes to the sandbox's terminal.
  static func followWindowSize(into sender: AsyncStream<Hops_V1_ControlRequest>.Continuation) -> any DispatchSourceSignal {
    signal(SIGWINCH, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: SIGWINCH)
    source.setEventHandler {
      guard let size = HopsOS.Terminal.size(of: 0) ?? HopsOS.Terminal.size(of: 1) else { return }
      sender.yield(.with {
        $0.resize = .with {
          $0.rows = UInt32(size.rows)
          $0.columns = UInt32(size.columns)
        }
      })
    }
    source.resume()
    return source
  }

  static func forwardSignals(into sender: AsyncStream<Hops_V1_ControlRequest>.Continuation) -> [any DispatchSourceSignal] {
    forwardedSignals.map { number in
      signal(number, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: number)
      source.setEventHandler { sender.yield(.with { $0.signal = number }) }
      source.resume()
      return source
    }
  }
}

/// A pthread that copies fd 0 into the run's request stream.
final class StdinThread: @unchecked Sendable {
  let sender: AsyncStream<Hops_V1_RunInput>.Continuation

  init(sender: AsyncStream<Hops_V1_RunInput>.Continuation) { self.sender = sender }

  func start() {
    let retained = Unmanaged.passRetained(self).toOpaque()
    var thread = pthread_t()
    if pthread_create(&thread, nil, { raw in
      let me = Unmanaged<StdinThread>.fromOpaque(raw!).takeRetainedValue()
      me.loop()
      return nil
    }, retained) == 0 {
      pthread_detach(thread)
    } else {
      Unmanaged<StdinThread>.fromOpaque(retained).release()
      sender.yield(.with { $0.stdinEof = true })
    }
  }

  private func loop() {
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
      let n = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress!, $0.count) }
      if n > 0 {
        let chunk = Array(buffer[0..<n])
        if case .terminated = sender.yield(.with { $0.stdin = .init(chunk) }) { return }
      } else if n < 0 && errno == EINTR {
        continue
      } else {
        sender.yield(.with { $0.stdinEof = true })
        return
      }
    }
  }
}

/// The last line of defence for the local terminal: restored at process exit
/// too, whatever path led there.
enum TerminalRestore {
  nonisolated(unsafe) private static var armed: HopsOS.Terminal.RawMode?
  nonisolated(unsafe) private static var registered = false

  static func arm(_ mode: HopsOS.Terminal.RawMode?) {
    armed = mode
    if !registered {
      registered = true
      atexit { TerminalRestore.armed?.restore() }
    }
  }
}

/// The sandbox's id (and the exec's), known once the daemon says it started;
/// control calls that come earlier wait for it.
actor SandboxIDBox {
  private var id: Hops_V1_RunStarted?
  private var waiting: [CheckedContinuation<Hops_V1_RunStarted?, Never>] = []

  func set(_ value: Hops_V1_RunStarted) {
    id = value
    waiting.forEach { $0.resume(returning: value) }
    waiting = []
  }

  func value() async -> Hops_V1_RunStarted? {
    if let id { return id }
    return await withCheckedContinuation { waiting.append($0) }
  }
}
