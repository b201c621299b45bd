import ArgumentParser
import HopsAPI
import HopsCore

/// `hops system prune`: remove every stopped sandbox.
struct SystemPrune: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "prune", abstract: "Remove every stopped sandbox (running ones are left alone).")

  @OptionGroup var daemon: DaemonOptions

  func run() async throws {
    try await reportingErrors {
      let connection = try daemon.connect()
      let reply = try await connection.withClient { client in
        try await client.prune(Hops_V1_PruneRequest(), options: DaemonConnection.callOptions)
      }
      reply.removed.forEach { print($0) }
      print("Removed \(reply.removed.count) stopped sandbox\(reply.removed.count == 1 ? "" : "es"), freed \(UsageText.bytes(reply.freedBytes))")
    }
  }
}
