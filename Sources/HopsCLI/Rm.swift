import ArgumentParser
import HopsAPI
import HopsCore

/// `hops rm [-f] SANDBOX...`: remove stopped sandboxes (running ones with -f).
struct Rm: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rm",
    abstract: "Remove stopped sandboxes, their files and logs; -f kills running ones first.")

  @Flag(name: [.short, .long], help: "Kill the sandbox first if it is running.")
  var force = false

  @Argument(help: "Names, ids or unique id prefixes.")
  var sandboxes: [String]

  @OptionGroup var daemon: DaemonOptions

  func run() async throws {
    try await reportingErrors {
      let connection = try daemon.connect()
      let force = self.force
      try await ForEachSandbox.run(sandboxes) { sandbox in
        _ = try await connection.withClient { client in
          try await client.remove(.with {
            $0.sandbox = sandbox
            $0.force = force
          }, options: DaemonConnection.callOptions)
        }
        print(sandbox)
      }
    }
  }
}
