import GRPCCore
import HopsAPI
import HopsCore
import HopsOS
import HopsRuntime

/// `hops logs [-f]`: a detached sandbox's output from its log on disk, which
/// outlives the sandbox and the daemon; with follow, on until the sandbox ends.
extension HopsService {
  func logs(request: Hops_V1_LogsRequest, response: RPCWriter<Hops_V1_LogChunk>, context: ServerContext) async throws {
    let registry = self.registry
    let entry = try await mappingErrors { try registry.resolve(request.sandbox) }
    guard let record = entry.record, record.kind == .detached else {
      throw RPCError(HopsError.invalid(
        "sandbox \(request.sandbox) has no log: its output went to the client that started it",
        hint: "only detached sandboxes ('hops run -d') keep their output"))
    }
    guard let reader = SandboxLogReader(directory: home.sandbox(id: record.id)) else { return }
    func send(_ chunks: [SandboxLogReader.Chunk]) async throws {
      for chunk in chunks {
        try await response.write(.with {
          if chunk.stream == 2 { $0.stderr = .init(chunk.bytes) } else { $0.stdout = .init(chunk.bytes) }
        })
      }
    }
    while true {
      let chunks = try await offloaded { reader.read() }
      try await send(chunks)
      if !chunks.isEmpty { continue }
      guard request.follow else { return }
      let running = registry.find(record.id).map { $0.exit == nil } ?? false
      if !running {
        // It ended: what it wrote last is on disk now.
        try await send(try await offloaded { reader.read() })
        return
      }
      try await Task.sleep(for: .milliseconds(100))
    }
  }
}
