import Dispatch
import FoundationEssentials
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Glibc
import HopsAPI
import HopsCore
import HopsImage
import HopsOS
import HopsRuntime
import Logging
import Synchronization

/// hopsd's life: lock the pid file, clean what a crashed predecessor left, listen
/// on the socket (0600 in a 0700 directory), serve, and on SIGTERM, SIGINT or the
/// Shutdown RPC stop every sandbox, clean up and exit.
final class Daemon: Sendable {
  let home: HopsHome
  let logger: Logger
  let access: SocketAccess
  let limits: DaemonLimits

  init(home: HopsHome, logger: Logger, access: SocketAccess, limits: DaemonLimits) {
    self.home = home
    self.logger = logger
    self.access = access
    self.limits = limits
  }

  func run() async throws {
    try HomeSetup.ensureDirectories(home)
    let pidFile = try PidFile(path: home.pidFile)
    defer { pidFile.release() }
    // The pid file lock proves no other daemon serves this home, so a socket file
    // that exists now was left by a crash.
    unlink(home.socketPath)

    let cgroups = CgroupHierarchy.detect()
    logger.info("resource control", metadata: ["cgroups": "\(cgroups?.description ?? "none")"])
    let recovered = CrashRecovery.run(home: home, cgroups: cgroups)
    if !recovered.removedSandboxes.isEmpty || !recovered.killedProcesses.isEmpty || !recovered.markedStopped.isEmpty
      || !recovered.removedCgroups.isEmpty
    {
      logger.notice(
        "cleaned up after a previous daemon",
        metadata: [
          "removed": "\(recovered.removedSandboxes)", "marked stopped": "\(recovered.markedStopped)",
          "killed": "\(recovered.killedProcesses)", "cgroups removed": "\(recovered.removedCgroups)",
        ])
    }

    let setup = HomeSetup(home: home)
    ImageStore(home: home).removeLeftovers()
    let launcher = SandboxLauncher(
      home: home, setup: setup, initPath: try Executables.hopsInit(), cgroups: cgroups,
      warm: min(limits.warmSandboxes, limits.maxSandboxes))
    if let reason = launcher.userNamespaces.reason {
      logger.warning("sandboxes run without a user namespace", metadata: ["reason": "\(reason)"])
    }
    let registry = SandboxRegistry(stopped: SandboxRegistry.loadStopped(home: home), maxRunning: limits.maxSandboxes)
    let stopping = Mutex<GRPCServer<HTTP2ServerTransport.Posix>?>(nil)
    // Direct runs (their own socket, no gRPC): see DirectRunServer.
    let direct = try DirectRunServer(
      home: home, starter: SandboxStarter(launcher: launcher, registry: registry, logger: logger), access: access,
      logger: logger)
    let shutdownRequested = AsyncStream<Void>.makeStream()

    let service = HopsService(
      home: home, setup: setup, launcher: launcher, registry: registry, images: ImageStore(home: home),
      startedAt: Date().timeIntervalSince1970, cgroups: cgroups, logger: logger,
      requestShutdown: { shutdownRequested.continuation.yield() })
    let server = GRPCServer(
      transport: .http2NIOPosix(
        address: .unixDomainSocket(path: home.socketPath),
        transportSecurity: .plaintext,
        config: .defaults { [access] config in
          config.rpc.maxRequestPayloadSize = DaemonLimits.maxMessageBytes
          // Streams carry bulk stdin and stdout: a window far above the HTTP/2
          // default (64 KiB), so data does not wait for a round trip per 64 KiB.
          config.http2.targetWindowSize = DaemonLimits.streamWindowBytes
          config.http2.maxFrameSize = DaemonLimits.frameBytes
          config.channelDebuggingCallbacks.onAcceptTCPConnection = { channel in access.check(channel) }
        }),
      services: [service])
    stopping.withLock { $0 = server }

    // Signals become the same shutdown as the RPC.
    let signalSources = [SIGTERM, SIGINT, SIGHUP].map { number -> any DispatchSourceSignal in
      signal(number, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: number)
      source.setEventHandler { shutdownRequested.continuation.yield() }
      source.resume()
      return source
    }
    defer { signalSources.forEach { $0.cancel() } }

    // When the server stops, the group must end at once: the error below cancels
    // the other tasks (the shutdown listener and its grace timer).
    struct ServerStopped: Error {}
    do {
    try await withThrowingDiscardingTaskGroup { group in
      group.addTask {
        try await server.serve()
        throw ServerStopped()
      }
      guard try await server.listeningAddress != nil else { return }
      access.secure(socket: home.socketPath, home: home)
      try direct.serve()
      logger.info("hopsd listening", metadata: ["socket": "\(home.socketPath)", "pid": "\(getpid())", "version": "\(HopsVersion.current)"])

      group.addTask { [logger] in
        for await _ in shutdownRequested.stream {
          logger.info("stopping: ending every sandbox")
          direct.stop()
          launcher.pool?.drain()
          launcher.stopZygote()
          registry.killAll(reason: "the daemon is stopping")
          await registry.waitUntilEmpty(seconds: 10)
          // Stop accepting the socket before the process ends, so clients see a
          // clean "not running" rather than a hang.
          unlink(self.home.socketPath)
          server.beginGracefulShutdown()
          // A call that never ends (a stuck download, say) must not keep the
          // daemon alive: after a grace period, clean up and leave anyway.
          try? await Task.sleep(for: .seconds(15))
          if Task.isCancelled { return }
          logger.warning("calls still open after 15 s; stopping anyway")
          unlink(self.home.directRunSocketPath)
          launcher.pool?.drain()
          launcher.teardownNetwork()
          unlink(self.home.pidFile)
          exit(0)
        }
      }
    }
    } catch is ServerStopped {}
    unlink(home.socketPath)
    direct.stop()
    launcher.pool?.drain()
    launcher.stopZygote()
    launcher.teardownNetwork()
    logger.info("hopsd stopped")
  }
}
