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
    let terminal: Terminal.Size? = runRequest.hasTerminal
      ? Terminal.Size(rows: UInt16(clamping: max(1, runRequest.terminal.rows)), columns: UInt16(clamping: max(1, runRequest.terminal.columns)))
      : nil
    let sandbox = try await SandboxStarter(launcher: launcher, registry: registry, logger: logger)
      .start(runRequest, kind: .run, terminal: terminal)
    let registry = self.registry
    let events = sandbox.events(onExit: { registry.exited($0) }, onFinished: { registry.tornDown(sandbox) })
    let logger = self.logger
    try await StreamRelay.relay(
      input: iterator, events: events, endpoint: sandbox,
      started: .with {
        $0.sandboxID = sandbox.id
        $0.rootfsPath = sandbox.rootfs.path
        $0.address = sandbox.address ?? ""
      },
      response: response,
      onExit: { exit in logger.info("sandbox ended", metadata: ["id": "\(sandbox.id)", "code": "\(exit.code)"]) })
  }
}

/// Launching a sandbox for Run, Create and direct runs: the name reserved
/// first (with the id of a warm hops-init when one is ready), the launch, then
/// registration (refused while the daemon stops).
struct SandboxStarter {
  let launcher: SandboxLauncher
  let registry: SandboxRegistry
  let logger: Logger

  func start(_ request: Hops_V1_RunRequest, kind: SandboxRecord.Kind, terminal: Terminal.Size? = nil) async throws -> Sandbox {
    let starter = self
    return try await mappingErrors {
      try await offloaded { try starter.startBlocking(request, kind: kind, terminal: terminal) }
    }
  }

  /// The same, on the caller's thread: it blocks (spawning, mounts), so never
  /// on an async one. `stdio`: a direct run's streams (see the launcher).
  func startBlocking(
    _ request: Hops_V1_RunRequest, kind: SandboxRecord.Kind, terminal: Terminal.Size? = nil, stdio: [Int32]? = nil
  ) throws -> Sandbox {
    let policy = try Policy(request: request)
    let name = request.name.isEmpty ? nil : request.name
    let command = request.command
    var options = SandboxLauncher.Options(
      name: name, kind: kind, profile: request.profile.isEmpty ? nil : request.profile, terminal: terminal)
    options.stdio = stdio
    if let name { try Policy.validateName(name, what: "sandbox") }
    // A warm hops-init, when one is ready, gives the sandbox its id.
    let warm = launcher.takeWarm(for: policy, kind: kind)
    if let warm { options.id = warm.id }
    do { try registry.reserve(id: options.id, name: name) } catch {
      if let warm { launcher.giveBack(warm) }
      throw error
    }
    let sandbox: Sandbox
    let launchStarted = ContinuousClock.now
    do {
      sandbox = try launcher.launch(policy: policy, command: command, options: options, warm: warm)
    } catch {
      registry.release(id: options.id)
      throw error
    }
    let registry = self.registry
    guard registry.add(sandbox) else {
      sandbox.kill(reason: "the daemon is stopping", discardOutput: true)
      sandbox.start(output: nil, onExit: { registry.exited($0) }, onFinished: { registry.tornDown(sandbox) })
      throw HopsError(.unavailable, "hopsd is stopping; run again once it has restarted")
    }
    logger.info(
      "sandbox started",
      metadata: [
        "id": "\(sandbox.id)", "name": "\(name ?? "")", "kind": "\(kind.rawValue)", "pid": "\(sandbox.initPid)",
        "command": "\(command)", "direct": "\(stdio != nil)", "warm": "\(warm != nil)",
        "launch_ms": "\(Self.milliseconds(since: launchStarted))",
      ])
    return sandbox
  }

  /// Milliseconds since `start`, to a tenth, for the log.
  static func milliseconds(since start: ContinuousClock.Instant) -> String {
    let elapsed = (ContinuousClock.now - start).components
    let tenths = elapsed.seconds * 10_000 + elapsed.attoseconds / 100_000_000_000_000
    return "\(tenths / 10).\(tenths % 10)"
  }
}
