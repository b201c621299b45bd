import ArgumentParser
import HopsAPI
import HopsCore

/// `hops logs [-f] SANDBOX`: what a detached sandbox printed.
struct Logs: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "logs",
    abstract: "Print what a detached sandbox ('hops run -d') wrote, stdout and stderr apart.",
    discussion: "The log is kept on disk, bounded (the latest 8 to 16 MiB), until 'hops rm'.")

  @Argument(help: "Name, id or unique id prefix.")
  var sandbox: String

  @Flag(name: [.short, .long], help: "Keep printing what it writes until it stops.")
  var follow = false

  @OptionGroup var daemon: DaemonOptions

  func run() async throws {
    try await reportingErrors {
      let connection = try daemon.connect()
      let (sandbox, follow) = (self.sandbox, self.follow)
      try await connection.withClient { client in
        try await client.logs(.with {
          $0.sandbox = sandbox
          $0.follow = follow
        }, options: DaemonConnection.callOptions) { response in
          for try await chunk in response.messages {
            switch chunk.kind {
            case .stdout(let data): Console.write(1, data)
            case .stderr(let data): Console.write(2, data)
            case nil: continue
            }
          }
        }
      }
    }
  }
}
