import GRPCCore
import HopsAPI
import HopsCore
import HopsOS
import HopsPolicy
import HopsRuntime

/// `hops exec`: another process in a running sandbox, streamed like a run.
extension HopsService {
  func exec(
    request: RPCAsyncSequence<Hops_V1_RunInput, any Error>,
    response: RPCWriter<Hops_V1_RunOutput>,
    context: ServerContext
  ) async throws {
    var iterator = request.makeAsyncIterator()
    guard let first = try await iterator.next(), case .exec(let execRequest)? = first.kind else {
      throw RPCError(code: .invalidArgument, message: "the first message of an exec must be its request")
    }
    let registry = self.registry
    let (sandbox, session) = try await mappingErrors {
      try RequestLimits.check(execRequest)
      let entry = try registry.resolve(execRequest.sandbox)
      guard case .running(let sandbox) = entry, sandbox.exit == nil else { throw Sandbox.notRunning(entry.record!) }
      guard let name = execRequest.command.first, !name.isEmpty else {
        throw HopsError.invalid("no command given", hint: "write it after --, e.g. hops exec dev -- /bin/sh")
      }
      let defaults = sandbox.execDefaults
      var environment = defaults.environment
      for variable in execRequest.environment {
        let (key, value) = try Policy.parseEnvironmentAssignment("\(variable.name)=\(variable.value)")
        environment.removeAll { $0.hasPrefix(key + "=") }
        environment.append("\(key)=\(value)")
      }
      let directory = execRequest.workingDirectory.isEmpty ? defaults.workingDirectory : execRequest.workingDirectory
      guard directory.hasPrefix("/") else {
        throw HopsError.invalid("working directory '\(directory)' is not absolute", hint: "give a path inside the sandbox, e.g. -w /tmp")
      }
      let terminal: Terminal.Size? = execRequest.hasTerminal
        ? Terminal.Size(rows: UInt16(clamping: max(1, execRequest.terminal.rows)), columns: UInt16(clamping: max(1, execRequest.terminal.columns)))
        : nil
      let session = try await sandbox.exec(
        argv: execRequest.command, environment: environment, workingDirectory: directory, terminal: terminal,
        user: execRequest.user.isEmpty ? defaults.user : execRequest.user)
      return (sandbox, session)
    }
    logger.info("exec started", metadata: ["sandbox": "\(sandbox.id)", "exec": "\(session.id)", "command": "\(execRequest.command)"])
    try await StreamRelay.relay(
      input: iterator, events: session.events(onDone: {}), endpoint: session,
      started: .with {
        $0.sandboxID = sandbox.id
        $0.execID = Int32(session.id)
      },
      response: response)
  }
}
