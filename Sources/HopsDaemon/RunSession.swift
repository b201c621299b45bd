import GRPCCore
import HopsAPI
import HopsCore
import HopsOS
import HopsPolicy
import HopsRuntime
import Logging

/// One `Run` call: the first message starts a sandbox, the rest of the request
/// stream feeds its stdin and signals, and its output and exit go back. If the
/// client goes away at any point, the sandbox is killed and removed.
struct RunSession {
  let launcher: SandboxLauncher
  let registry: SandboxRegistry
  let logger: Logger

  func serve(
    request: RPCAsyncSequence<Hops_V1_RunInput, any Error>,
    response: RPCWriter<Hops_V1_RunOutput>
  ) async throws {
    var iterator = request.makeAsyncIterator()
    guard let first = try await iterator.next(), case .request(let runRequest)? = first.kind else {
      throw RPCError(code: .invalidArgument, message: "the first message of a run must be its request")
    }
    let policy = try mappingErrorsSync { try Policy(request: runRequest) }
    let command = runRequest.command
    let launcher = self.launcher
    let terminal: Terminal.Size? = runRequest.hasTerminal
      ? Terminal.Size(rows: UInt16(clamping: max(1, runRequest.terminal.rows)), columns: UInt16(clamping: max(1, runRequest.terminal.columns)))
      : nil
    let sandbox = try await mappingErrors {
      try await offloaded { try launcher.launch(policy: policy, command: command, terminal: terminal) }
    }
    guard registry.add(sandbox) else {
      sandbox.kill(reason: "the daemon is stopping", discardOutput: true)
      let registry = self.registry
      _ = sandbox.events(onFinished: { registry.remove(sandbox) })
      throw RPCError(code: .unavailable, message: "hopsd is stopping; run again once it has restarted")
    }
    let registry = self.registry
    // Whatever way this call ends before the exit reached the client, the
    // sandbox must not outlive it.
    var delivered = false
    defer { if !delivered { sandbox.kill(reason: "the client disconnected", discardOutput: true) } }
    logger.info("sandbox started", metadata: ["id": "\(sandbox.id)", "pid": "\(sandbox.initPid)", "command": "\(command)"])
    let events = sandbox.events(onFinished: { registry.remove(sandbox) })

    // The iterator moves to the input task; this task never touches it again.
    nonisolated(unsafe) var input = iterator
    try await withTaskCancellationHandler {
      try await withThrowingTaskGroup(of: Void.self) { group in
        if let timeout = policy.limits.timeoutSeconds {
          group.addTask {
            // Cancelled (and so silent) when the run ends first.
            guard (try? await Task.sleep(for: .milliseconds(Int64(timeout * 1000)))) != nil else { return }
            sandbox.timeOut(after: timeout)
          }
        }
        group.addTask {
          do {
            while let message = try await input.next() {
              switch message.kind {
              case .stdin(let data): _ = await sandbox.writeStdin(Array(data))
              case .stdinEof: sandbox.closeStdin()
              case .signal(let number): sandbox.signal(number)
              case .resize(let size):
                sandbox.resize(Terminal.Size(rows: UInt16(clamping: size.rows), columns: UInt16(clamping: size.columns)))
              default: break
              }
            }
            sandbox.closeStdin()
          } catch {
            sandbox.kill(reason: "the client disconnected", discardOutput: true)
          }
        }

        try await response.write(.with { $0.started = .with {
          $0.sandboxID = sandbox.id
          $0.rootfsPath = sandbox.rootfs.path
          $0.address = sandbox.address ?? ""
        } })
        var clientGone = false
        for await event in events {
          let output: Hops_V1_RunOutput
          switch event {
          case .stdout(let bytes): output = .with { $0.stdout = .init(bytes) }
          case .stderr(let bytes): output = .with { $0.stderr = .init(bytes) }
          case .exit(let exit):
            logger.info("sandbox ended", metadata: ["id": "\(sandbox.id)", "code": "\(exit.code)"])
            output = .with {
              $0.exit = .with {
                $0.code = exit.code
                $0.signal = exit.signal
                $0.message = exit.message ?? ""
                $0.keptPath = exit.keptPath ?? ""
                $0.usage = .init(exit.usage)
              }
            }
          }
          if !clientGone {
            do {
              try await response.write(output)
              if case .exit = event { delivered = true }
            } catch {
              clientGone = true
              sandbox.kill(reason: "the client disconnected", discardOutput: true)
            }
          }
          sandbox.consumed()
        }
        group.cancelAll()
      }
    } onCancel: {
      sandbox.kill(reason: "the client disconnected", discardOutput: true)
    }
  }
}

private func mappingErrorsSync<T>(_ body: () throws -> T) throws -> T {
  do { return try body() } catch { throw RPCError(error) }
}
