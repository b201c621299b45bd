import FoundationEssentials
import GRPCCore
import Glibc
import HopsAPI
import HopsCore
import HopsOS
import HopsRuntime

/// Long-lived sandboxes: create, list, inspect, stop, remove, prune.
extension HopsService {
  func create(request: Hops_V1_CreateRequest, context: ServerContext) async throws -> Hops_V1_SandboxInfo {
    if request.detached && request.run.command.isEmpty && request.run.rootfs.isEmpty {
      throw RPCError(code: .invalidArgument, message: "a detached run needs a command")
    }
    let kind: SandboxRecord.Kind = request.detached ? .detached : .created
    let sandbox = try await SandboxStarter(launcher: launcher, registry: registry, logger: logger)
      .start(request.run, kind: kind)
    let registry = self.registry
    var output: OutputSink?
    if request.detached {
      do {
        // A detached sandbox's layers are on disk, in its directory, with its log.
        guard let directory = sandbox.directory else { throw HopsError.failed("it has no directory") }
        output = .log(try SandboxLog(directory: directory))
      } catch {
        sandbox.kill(reason: "its log could not be opened: \(error)")
      }
      // Nobody types into a detached sandbox: its stdin reads end-of-file.
      sandbox.closeStdin()
    }
    sandbox.start(output: output, onExit: { registry.exited($0) }, onFinished: { registry.tornDown(sandbox) })
    return Hops_V1_SandboxInfo(.running(sandbox))
  }

  func list(request: Hops_V1_ListRequest, context: ServerContext) async throws -> Hops_V1_ListReply {
    .with {
      $0.sandboxes = registry.everything
        .filter { entry in request.all || entry.record?.isRunning == true }
        .map(Hops_V1_SandboxInfo.init)
    }
  }

  func inspect(request: Hops_V1_InspectRequest, context: ServerContext) async throws -> Hops_V1_InspectReply {
    try await mappingErrors {
      let entry = try registry.resolve(request.sandbox)
      return .with { $0.json = SandboxInspection(entry: entry, home: home).json() }
    }
  }

  func stop(request: Hops_V1_StopRequest, context: ServerContext) async throws -> Hops_V1_SandboxInfo {
    try await mappingErrors {
      let entry = try registry.resolve(request.sandbox)
      guard case .running(let sandbox) = entry else { return Hops_V1_SandboxInfo(entry) }
      let grace = request.graceSeconds < 0 ? 10 : min(request.graceSeconds, 3600)
      logger.info("stopping sandbox", metadata: ["id": "\(sandbox.id)", "grace": "\(grace)"])
      _ = await sandbox.stop(grace: grace)
      // The record as the monitor left it (a removed-on-exit run is gone from
      // the registry, so ask the sandbox itself).
      if let stopped = try? registry.resolve(sandbox.id), case .stopped = stopped { return Hops_V1_SandboxInfo(stopped) }
      return Hops_V1_SandboxInfo(.stopped(sandbox.record))
    }
  }

  func remove(request: Hops_V1_RemoveRequest, context: ServerContext) async throws -> Hops_V1_RemoveReply {
    try await mappingErrors {
      var entry = try registry.resolve(request.sandbox)
      if case .running(let sandbox) = entry {
        guard request.force else {
          throw HopsError(
            .unavailable, "sandbox \(sandbox.name ?? sandbox.id) is running",
            hint: "stop it first ('hops stop \(request.sandbox)'), or remove it anyway with 'hops rm -f'")
        }
        sandbox.kill(reason: "removed by 'hops rm -f'", discardOutput: true)
        _ = await sandbox.waitForExit(seconds: 30)
        entry = .stopped(sandbox.record)
      }
      guard let record = entry.record else { throw HopsError.notFound("no sandbox '\(request.sandbox)'") }
      try await removeStopped(record)
      return .with { $0.id = record.id }
    }
  }

  func prune(request: Hops_V1_PruneRequest, context: ServerContext) async throws -> Hops_V1_PruneReply {
    try await mappingErrors {
      var reply = Hops_V1_PruneReply()
      for case .stopped(let record) in registry.everything {
        reply.freedBytes += DiskUsage.bytes(of: home.sandbox(id: record.id))
        try await removeStopped(record)
        reply.removed.append(record.id)
      }
      logger.info("pruned stopped sandboxes", metadata: ["count": "\(reply.removed.count)"])
      return reply
    }
  }

  /// Forgets a stopped sandbox and deletes its directory.
  private func removeStopped(_ record: SandboxRecord) async throws {
    registry.forget(id: record.id)
    let directory = home.sandbox(id: record.id)
    let registry = self.registry
    try await offloaded {
      // A sandbox's exit is told while hops-init and its overlay are still
      // going: its directory is ours to remove once its teardown is done.
      // (Two seconds at most: past that the directory goes anyway.)
      var waits = 0
      while waits < 1000 && registry.isTearingDown(id: record.id) {
        usleep(2_000)
        waits += 1
      }
      do { try FileTree.remove(directory) } catch {
        throw HopsError.failed("cannot remove \(directory): \(error)")
      }
    }
    logger.info("removed sandbox", metadata: ["id": "\(record.id)"])
  }
}

extension Hops_V1_SandboxInfo {
  init(_ entry: SandboxRegistry.Entry) {
    let record = entry.record ?? SandboxRecord(id: "", createdAt: 0, rootfs: "", command: [], keep: false, initPid: 0)
    self = .with {
      $0.id = record.id
      $0.name = record.name ?? ""
      $0.kind = record.kind.rawValue
      $0.state = record.state
      $0.running = record.isRunning
      $0.exitCode = record.exitCode ?? 0
      $0.exitSignal = record.exitSignal ?? 0
      $0.exitMessage = record.exitMessage ?? ""
      $0.command = record.command
      $0.rootfs = record.rootfs
      $0.createdAt = record.createdAt
      $0.finishedAt = record.finishedAt ?? 0
      $0.initPid = record.isRunning ? record.initPid : 0
      $0.network = record.network ?? ""
      $0.address = record.address ?? ""
      if case .running(let sandbox) = entry {
        $0.usage = .init(sandbox.currentUsage())
      } else {
        $0.usage = .with {
          $0.cpuSeconds = record.cpuSeconds ?? 0
          $0.peakMemoryBytes = record.peakMemoryBytes ?? 0
          $0.wallSeconds = max(0, (record.finishedAt ?? record.createdAt) - record.createdAt)
        }
      }
    }
  }
}
