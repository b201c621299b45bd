import ArgumentParser
import FoundationEssentials
import HopsAPI
import HopsCore

/// `hops stats`: live usage of the running sandboxes.
struct Stats: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "stats",abstract: "Show live CPU, memory and process usage of running sandboxes.")

  @OptionGroup var daemon: DaemonOptions

  func run() async throws {
    try await reportingErrors {
      let connection = try daemon.connect()
      let reply = try await connection.withClient { client in
        try await client.stats(Hops_V1_StatsRequest(), options: DaemonConnection.callOptions)
      }
      var rows = [["ID", "NAME", "UPTIME", "CPU", "MEMORY", "PEAK MEMORY", "PROCESSES", "COMMAND"]]
      for sandbox in reply.sandboxes {
        let usage = sandbox.usage
        rows.append([
          sandbox.id, sandbox.name.isEmpty ? "-" : sandbox.name, UsageText.seconds(usage.wallSeconds), UsageText.seconds(usage.cpuSeconds),
          UsageText.bytes(usage.memoryBytes), UsageText.bytes(usage.peakMemoryBytes), "\(usage.processes)",
          sandbox.command.joined(separator: " "),
        ])
      }
      print(TableText.render(rows))
    }
  }
}
