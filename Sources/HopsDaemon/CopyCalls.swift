import GRPCCore
import HopsAPI
import HopsCore
import HopsOS
import HopsRuntime

/// `hops cp`: trees of files into and out of a running sandbox, as streams of
/// entries. The daemon reads and writes inside the sandbox only through its
/// root (SandboxPaths) and never follows a symlink below the named path
/// (FileTree); the host side of a copy is the CLI's, with the user's own rights.
extension HopsService {
  func copyIn(request: RPCAsyncSequence<Hops_V1_CopyChunk, any Error>, context: ServerContext) async throws -> Hops_V1_CopyReply {
    var iterator = request.makeAsyncIterator()
    guard let first = try await iterator.next(), case .target(let target)? = first.kind else {
      throw RPCError(code: .invalidArgument, message: "the first message of a copy must name its target")
    }
    let registry = self.registry
    return try await mappingErrors {
      try Self.checkCopiedName(target.name)
      let sandbox = try Self.runningSandbox(target.sandbox, in: registry)
      let root = try sandbox.openRoot()
      defer { FD.close(root) }
      let base = sandbox.execDefaults.workingDirectory
      let (parent, name, shown) = try SandboxPaths.destination(root: root, path: target.path, base: base, name: target.name)
      defer { FD.close(parent) }
      let writer = FileTree.Writer(parent: parent, name: name)
      // Written as the sandbox's root, as its own writes are: owned by root
      // inside, and through its idmapped mounts as any of its files.
      let owner = sandbox.rootID
      var entries = 0
      while let chunk = try await iterator.next() {
        switch chunk.kind {
        case .entry(let wire):
          let entry = try FileTree.Entry(wire)
          if entries == 0 && !entry.path.isEmpty { throw HopsError.invalid("a copy must start with its top entry") }
          entries += 1
          try await offloaded { try FilesystemIdentity.run(as: owner) { try Self.copying(shown) { try writer.begin(entry) } } }
        case .data(let data):
          let bytes = Array(data)
          try await offloaded { try FilesystemIdentity.run(as: owner) { try Self.copying(shown) { try writer.write(bytes) } } }
        default:
          throw HopsError.invalid("a copy names its target once")
        }
      }
      try Self.copying(shown) { try writer.finish() }
      logger.info("copied into sandbox", metadata: ["id": "\(sandbox.id)", "path": "\(shown)", "entries": "\(writer.entries)"])
      return .with {
        $0.destination = shown
        $0.entries = UInt64(writer.entries)
        $0.bytes = writer.bytes
      }
    }
  }

  func copyOut(request: Hops_V1_CopyOutRequest, response: RPCWriter<Hops_V1_CopyChunk>, context: ServerContext) async throws {
    let registry = self.registry
    try await mappingErrors {
      let sandbox = try Self.runningSandbox(request.sandbox, in: registry)
      let root = try sandbox.openRoot()
      defer { FD.close(root) }
      let (parent, name) = try SandboxPaths.source(root: root, path: request.path, base: sandbox.execDefaults.workingDirectory)
      defer { FD.close(parent) }
      let reader = FileTree.Reader(parent: parent, name: name)
      try await response.write(.with { $0.target = .with { $0.name = name } })
      // Chunks are batched a little: one hop to a thread per 64 KiB would cost
      // more than the copy.
      while true {
        let items = try await offloaded {
          var items: [FileTree.Item] = []
          var size = 0
          while size < 1 << 20, let item = try Self.copying(request.path, { try reader.next() }) {
            if case .data(let bytes) = item { size += bytes.count } else { size += 256 }
            items.append(item)
          }
          return items
        }
        if items.isEmpty { break }
        for item in items { try await response.write(Hops_V1_CopyChunk(item)) }
      }
    }
  }

  static func runningSandbox(_ reference: String, in registry: SandboxRegistry) throws -> Sandbox {
    let entry = try registry.resolve(reference)
    guard case .running(let sandbox) = entry, sandbox.exit == nil else { throw Sandbox.notRunning(entry.record!) }
    return sandbox
  }

  /// The name a copied tree gets: one path component.
  static func checkCopiedName(_ name: String) throws {
    guard !name.isEmpty, name != ".", name != "..", !name.contains("/") else {
      throw HopsError.invalid("'\(name)' cannot name a copied file", hint: "copy a file or directory by its path")
    }
  }

  /// File system errors of a copy, said with the path.
  static func copying<T>(_ path: String, _ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as SyscallError {
      throw HopsError.failed("cannot copy \(path): \(error)")
    }
  }
}
