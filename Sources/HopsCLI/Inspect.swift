import ArgumentParser
import HopsAPI
import HopsCore

/// `hops inspect SANDBOX...`: everything known about sandboxes, as JSON.
struct Inspect: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "inspect",
    abstract: "Show a sandbox's policy, state, pid, limits, usage, network address and exit, as JSON.",
    discussion: "One sandbox prints one JSON object; several print an array.")

  @Argument(help: "Names, ids or unique id prefixes.")
  var sandboxes: [String]

  @OptionGroup var daemon: DaemonOptions

  func run() async throws {
    try await reportingErrors {
      let connection = try daemon.connect()
      var documents: [String] = []
      for sandbox in sandboxes {
        let reply = try await connection.withClient { client in
          try await client.inspect(.with { $0.sandbox = sandbox }, options: DaemonConnection.callOptions)
        }
        documents.append(reply.json)
      }
      print(documents.count == 1 ? documents[0] : "[\n" + documents.joined(separator: ",\n") + "\n]")
    }
  }
}
