import Glibc
import HopsAPI
import HopsCore
import HopsDirectRun
import HopsOS
import HopsPolicy
import HopsRuntime
import Logging

/// One direct run (see DirectRunServer), on its own thread: the peer checked,
/// the request and its three streams read, the policy built from the flags it
/// carries (as the CLI would: same profile store, same checks), the sandbox
/// started with the streams, the client's signals forwarded, and the exit sent
/// back. If the client goes away first, the sandbox is killed, as with a Run
/// call.
struct DirectRunSession {
  let fd: Int32
  let starter: SandboxStarter
  let access: SocketAccess
  let logger: Logger

  func serve() {
    let channel = ControlChannel(fd: fd)
    defer { channel.close() }
    guard let peer = Self.peer(of: fd), access.allows(peer) else {
      logger.warning("refused a direct run", metadata: ["reason": "its peer is neither the daemon's user nor in its group"])
      return
    }
    // The request, with the command's stdin, stdout and stderr; a client that
    // connects and says nothing does not hold a thread for long.
    Self.setReceiveTimeout(fd, seconds: Self.requestTimeoutSeconds)
    let request: DirectRunRequest
    let stdio: [Int32]
    do {
      guard let frame = try channel.receive() else { return }
      // Every descriptor that came is ours to close unless it is exactly the three.
      let passed = channel.takeDescriptors(channel.queuedDescriptors) ?? []
      guard case .request(let received)? = try? DirectRunInput(json: frame) else {
        passed.forEach(FD.close)
        return send(channel, .error("the first message of a direct run must be its request"))
      }
      guard passed.count == 3 else {
        passed.forEach(FD.close)
        return send(channel, .error("a direct run needs exactly its stdin, stdout and stderr, passed with its request"))
      }
      request = received
      stdio = passed
    } catch {
      return send(channel, .error("cannot read the direct run's request: \(error)"))
    }
    Self.setReceiveTimeout(fd, seconds: 0)
    var held = stdio
    defer { held.forEach(FD.close) }
    for (fd, name) in zip(stdio, ["stdin", "stdout", "stderr"]) {
      if let refusal = PassedStreams.refusal(fd) {
        return send(channel, .error("the run's \(name) cannot be given to a sandbox: \(refusal)"))
      }
    }

    let sandbox: Sandbox
    do {
      try Self.checkBounds(request)
      let (policy, profile) = try request.settings.buildPolicy(
        workspace: request.workspace, home: starter.launcher.home, terminalType: request.terminalType,
        policyFile: request.policyFile)
      // From here as a gRPC run's request: the same bounds (RequestLimits) and the same launch.
      var runRequest = Hops_V1_RunRequest(policy: policy, command: request.command, profile: profile.name)
      runRequest.name = request.name ?? ""
      sandbox = try starter.startBlocking(runRequest, kind: .run, stdio: stdio)
    } catch let error as HopsError {
      return send(channel, .error(error.description))
    } catch {
      return send(channel, .error("\(error)"))
    }
    // hops-init has its own copies; ours would keep a pipe's reader from end-of-file.
    held.forEach(FD.close)
    held = []

    let registry = starter.registry
    send(channel, .started(sandboxID: sandbox.id, address: sandbox.address))
    // This thread follows the sandbox itself (Sandbox.follow), and the client
    // with it: its signals are forwarded; if it goes away, the sandbox is killed.
    let logger = self.logger
    sandbox.follow(
      client: fd,
      onClient: {
        // Once the exit is told the client goes, and that is no news: the
        // sandbox is being torn down already.
        if sandbox.exit != nil { return false }
        let open = (try? channel.fill()) ?? false
        while let frame = try? channel.nextFrame() {
          if case .signal(let number)? = try? DirectRunInput(json: frame) {
            sandbox.signal(number)
          }
        }
        // Signals carry no descriptors; any that came are closed at once.
        channel.takeDescriptors(channel.queuedDescriptors)?.forEach(FD.close)
        if !open { sandbox.kill(reason: "the client disconnected", discardOutput: true) }
        return open
      },
      onExit: { record in
        registry.exited(record)
        guard let exit = sandbox.exit else { return }
        logger.info("sandbox ended", metadata: ["id": "\(sandbox.id)", "code": "\(exit.code)"])
        // To a client that went away this fails, and that is all.
        try? channel.send(Array(DirectRunOutput.exit(DirectRunExit(exit)).json.utf8))
      })
    registry.tornDown(sandbox)
  }

  private func send(_ channel: ControlChannel, _ output: DirectRunOutput) {
    try? channel.send(Array(output.json.utf8))
  }

  /// The request's size, checked before any work on it: the same bounds as a
  /// gRPC run's (RequestLimits, checked again on the policy built from it),
  /// here on the flags as they came.
  static func checkBounds(_ request: DirectRunRequest) throws {
    try RequestLimits.checkCommand(request.command)
    let settings = request.settings
    if settings.environment.count > RequestLimits.maxEnvironment {
      throw HopsError.invalid("more than \(RequestLimits.maxEnvironment) environment variables")
    }
    for assignment in settings.environment {
      try RequestLimits.checkText(assignment, "an environment variable", maxBytes: RequestLimits.maxCommandBytes)
    }
    if settings.allowNet.count + settings.publish.count > RequestLimits.maxPaths {
      throw HopsError.invalid("more than \(RequestLimits.maxPaths) network rules")
    }
    for text in settings.allowNet + settings.publish + [settings.profile, settings.policyFile, settings.rootfs, settings.image,
      settings.network, settings.cpus, settings.cpuset, settings.memory, settings.timeout, settings.workspaceMode,
      settings.hostname, request.name, request.terminalType].compactMap({ $0 }) {
      try RequestLimits.checkText(text, "a flag's value", maxBytes: 512)
    }
    for path in [request.workspace, settings.workingDirectory ?? ""] {
      try RequestLimits.checkText(path, "a path", maxBytes: RequestLimits.maxPathBytes)
    }
    if let file = request.policyFile, file.text.utf8.count > PolicyFileText.maximumBytes {
      throw HopsError.invalid("the policy file is over \(PolicyFileText.maximumBytes / 1024) KiB")
    }
  }

  /// How long a client may take to send its request.
  static let requestTimeoutSeconds = 10

  /// SO_RCVTIMEO; 0 for none.
  static func setReceiveTimeout(_ fd: Int32, seconds: Int) {
    var timeout = timeval(tv_sec: seconds, tv_usec: 0)
    _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
  }

  /// SO_PEERCRED: who connected (the kernel's record, not the peer's claim).
  static func peer(of fd: Int32) -> SocketAccess.PeerCredentials? {
    var credentials = SocketAccess.PeerCredentials()
    var length = socklen_t(MemoryLayout<SocketAccess.PeerCredentials>.size)
    guard getsockopt(fd, SOL_SOCKET, SocketAccess.peerCredentialsOption, &credentials, &length) == 0 else { return nil }
    return credentials
  }
}

extension DirectRunExit {
  init(_ exit: SandboxExit) {
    self.init(
      code: exit.code, signal: exit.signal, message: exit.message, keptPath: exit.keptPath,
      wallSeconds: exit.usage.wallSeconds, cpuSeconds: exit.usage.cpuSeconds,
      peakMemoryBytes: exit.usage.peakMemoryBytes, peakProcesses: exit.usage.peakProcesses)
  }
}
