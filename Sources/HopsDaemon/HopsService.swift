import FoundationEssentials
import GRPCCore
import Glibc
import HopsAPI
import HopsCore
import HopsImage
import HopsOS
import HopsPolicy
import HopsRuntime
import Logging

/// The gRPC service: thin adapters from the API to the runtime.
struct HopsService: Hops_V1_Hops.SimpleServiceProtocol {
  let home: HopsHome
  let setup: HomeSetup
  let launcher: SandboxLauncher
  let registry: SandboxRegistry
  /// One store for every call: its lock is what keeps concurrent imports and
  /// pulls from writing the index over each other.
  let images: ImageStore
  let startedAt: Double
  let cgroups: CgroupHierarchy?
  let logger: Logger
  /// Called by the Shutdown RPC, after its reply is on its way.
  let requestShutdown: @Sendable () -> Void

  func run(
    request: RPCAsyncSequence<Hops_V1_RunInput, any Error>,
    response: RPCWriter<Hops_V1_RunOutput>,
    context: ServerContext
  ) async throws {
    try await RunSession(launcher: launcher, registry: registry, logger: logger)
      .serve(request: request, response: response)
  }

  func control(request: Hops_V1_ControlRequest, context: ServerContext) async throws -> Hops_V1_ControlReply {
    guard let sandbox = registry.find(request.sandboxID) else {
      throw RPCError(code: .notFound, message: "no running sandbox \(request.sandboxID)")
    }
    if request.execID != 0 {
      guard let exec = sandbox.execSession(Int(request.execID)) else { return .init() }
      switch request.kind {
      case .signal(let number): exec.signal(number)
      case .resize(let size): exec.resize(Terminal.Size(rows: UInt16(clamping: size.rows), columns: UInt16(clamping: size.columns)))
      case nil: break
      }
      return .init()
    }
    switch request.kind {
    case .signal(let number): sandbox.signal(number)
    case .resize(let size):
      sandbox.resize(Terminal.Size(rows: UInt16(clamping: size.rows), columns: UInt16(clamping: size.columns)))
    case nil: break
    }
    return .init()
  }

  func status(request: Hops_V1_StatusRequest, context: ServerContext) async throws -> Hops_V1_StatusReply {
    let now = Date().timeIntervalSince1970
    return .with {
      $0.pid = getpid()
      $0.startedAt = startedAt
      $0.uptimeSeconds = now - startedAt
      $0.version = HopsVersion.current
      $0.activeSandboxes = Int32(registry.count)
      $0.home = home.root
      $0.cgroups = cgroups?.description ?? "none"
      $0.userNamespaces = launcher.userNamespaces.supported ? "yes" : "no: " + (launcher.userNamespaces.reason ?? "")
      let records = registry.everything.compactMap(\.record)
      $0.runningSandboxes = Int32(records.filter(\.isRunning).count)
      $0.stoppedSandboxes = Int32(records.count) - $0.runningSandboxes
      if request.diskUsage {
        $0.imagesBytes = DiskUsage.bytes(of: home.imagesDir)
        $0.sandboxesBytes = DiskUsage.bytes(of: home.sandboxesDir)
      }
    }
  }

  func stats(request: Hops_V1_StatsRequest, context: ServerContext) async throws -> Hops_V1_StatsReply {
    .with {
      $0.sandboxes = registry.all.map { sandbox in
        .with {
          $0.id = sandbox.id
          $0.name = sandbox.name ?? ""
          $0.command = sandbox.command
          $0.rootfs = sandbox.rootfs.name
          $0.initPid = sandbox.initPid
          $0.startedAt = sandbox.startedAt
          $0.usage = .init(sandbox.currentUsage())
          $0.limits = .with {
            $0.cpus = sandbox.limits.cpus ?? 0
            $0.memoryBytes = sandbox.limits.memoryBytes ?? 0
            $0.maxProcesses = Int64(sandbox.limits.maxProcesses ?? 0)
            $0.timeoutSeconds = sandbox.limits.timeoutSeconds ?? 0
          }
        }
      }
    }
  }

  func shutdown(request: Hops_V1_ShutdownRequest, context: ServerContext) async throws -> Hops_V1_ShutdownReply {
    logger.info("shutdown requested through the API")
    requestShutdown()
    return .init()
  }

  func setup(request: Hops_V1_SetupRequest, context: ServerContext) async throws -> Hops_V1_SetupReply {
    let setup = self.setup
    let (info, created) = try await mappingErrors { try await offloaded { try setup.ensureDefaultRootfs() } }
    if created { logger.info("created the default rootfs", metadata: ["source": "\(info.source)"]) }
    return .with {
      $0.home = home.root
      $0.defaultRootfs = .init(info)
      $0.created = created
    }
  }

  func createRootfs(request: Hops_V1_CreateRootfsRequest, context: ServerContext) async throws -> Hops_V1_RootfsInfo {
    try await mappingErrors {
      try Policy.validateName(request.name, what: "rootfs")
      let path = request.source
      guard path.hasPrefix("/") else { throw HopsError.invalid("source '\(path)' must be an absolute path") }
      var info = stat()
      guard stat(path, &info) == 0 else {
        throw HopsError.notFound("\(path) does not exist", hint: "give a .tar, .tar.gz or a directory")
      }
      let source: RootfsStore.Source = info.st_mode & S_IFMT == S_IFDIR ? .directory(path) : .tarball(path)
      let store = setup.store
      let name = request.name
      let replace = request.replace
      try HomeSetup.ensureDirectories(home)
      let created = try await offloaded { try store.create(name: name, from: source, replace: replace) }
      logger.info("created rootfs", metadata: ["name": "\(name)", "source": "\(path)"])
      return .init(created)
    }
  }

  func listRootfs(request: Hops_V1_ListRootfsRequest, context: ServerContext) async throws -> Hops_V1_ListRootfsReply {
    .with { $0.rootfs = setup.store.list().map { .init($0) } }
  }

  func removeRootfs(request: Hops_V1_RemoveRootfsRequest, context: ServerContext) async throws -> Hops_V1_RemoveRootfsReply {
    try await mappingErrors {
      try Policy.validateName(request.name, what: "rootfs")
      let store = setup.store
      let name = request.name
      try await offloaded { try store.remove(name) }
      logger.info("removed rootfs", metadata: ["name": "\(name)"])
      return .init()
    }
  }
}

extension Hops_V1_RootfsInfo {
  init(_ info: RootfsInfo) {
    self = .with {
      $0.name = info.name
      $0.path = info.path
      $0.source = info.source
      $0.createdAt = info.createdAt
      $0.sizeBytes = info.sizeBytes
    }
  }
}

extension Hops_V1_Usage {
  init(_ usage: SandboxUsage) {
    self = .with {
      $0.wallSeconds = usage.wallSeconds
      $0.cpuSeconds = usage.cpuSeconds
      $0.memoryBytes = usage.memoryBytes
      $0.peakMemoryBytes = usage.peakMemoryBytes
      $0.processes = Int32(usage.processes)
      $0.peakProcesses = Int32(usage.peakProcesses)
      $0.oomKilled = usage.oomKilled
      $0.timedOut = usage.timedOut
    }
  }
}
