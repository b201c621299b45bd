import GRPCCore
import HopsAPI
import HopsOS
import HopsRuntime

/// What a Run or Exec call talks to: a sandbox's command, or an exec's process.
protocol ProcessEndpoint: Sendable {
  func writeStdin(_ bytes: [UInt8]) async -> Bool
  func closeStdin()
  func signal(_ number: Int32)
  func resize(_ size: Terminal.Size)
  /// The client handled one output event.
  func consumed()
  /// The client is gone before the exit reached it: end the process, drop its output.
  func abandon()
}

extension Sandbox: ProcessEndpoint {
  func abandon() { kill(reason: "the client disconnected", discardOutput: true) }
}

extension ExecSession: ProcessEndpoint {}

/// The streaming half of Run and Exec: the rest of the request stream feeds
/// stdin, signals and window sizes; output and then the exit go back. If the
/// client goes away at any point, the process is ended.
enum StreamRelay {
  static func relay(
    input iterator: RPCAsyncSequence<Hops_V1_RunInput, any Error>.AsyncIterator,
    events: AsyncStream<SandboxEvent>,
    endpoint: any ProcessEndpoint,
    started: Hops_V1_RunStarted,
    response: RPCWriter<Hops_V1_RunOutput>,
    onExit: @escaping @Sendable (SandboxExit) -> Void = { _ in }
  ) async throws {
    // Whatever way this call ends before the exit reached the client, the
    // process must not outlive it.
    var delivered = false
    defer { if !delivered { endpoint.abandon() } }
    // The iterator moves to the input task; this task never touches it again.
    nonisolated(unsafe) var input = iterator
    try await withTaskCancellationHandler {
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
          do {
            while let message = try await input.next() {
              switch message.kind {
              case .stdin(let data): _ = await endpoint.writeStdin(Array(data))
              case .stdinEof: endpoint.closeStdin()
              case .signal(let number): endpoint.signal(number)
              case .resize(let size):
                endpoint.resize(Terminal.Size(rows: UInt16(clamping: size.rows), columns: UInt16(clamping: size.columns)))
              default: break
              }
            }
            endpoint.closeStdin()
          } catch {
            endpoint.abandon()
          }
        }

        try await response.write(.with { $0.started = started })
        var clientGone = false
        for await event in events {
          let output: Hops_V1_RunOutput
          switch event {
          case .stdout(let bytes): output = .with { $0.stdout = .init(bytes) }
          case .stderr(let bytes): output = .with { $0.stderr = .init(bytes) }
          case .exit(let exit):
            onExit(exit)
            output = .with { $0.exit = .init(exit) }
          }
          if !clientGone {
            do {
              try await response.write(output)
              if case .exit = event { delivered = true }
            } catch {
              clientGone = true
              endpoint.abandon()
            }
          }
          endpoint.consumed()
        }
        group.cancelAll()
      }
    } onCancel: {
      endpoint.abandon()
    }
  }
}

extension Hops_V1_RunExit {
  /// A sandbox's (or exec's) exit as the client gets it.
  init(_ exit: SandboxExit) {
    self = .with {
      $0.code = exit.code
      $0.signal = exit.signal
      $0.message = exit.message ?? ""
      $0.keptPath = exit.keptPath ?? ""
      $0.usage = .init(exit.usage)
    }
  }
}
