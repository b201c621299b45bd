import ArgumentParser
import HopsAPI
import HopsCore

/// `hops stop [--time N] SANDBOX...`: SIGTERM, then SIGKILL after the grace period.
struct Stop: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "stop",
    abstract: "Stop running sandboxes: SIGTERM, then SIGKILL once the grace period has passed.",
    discussion: """
      SIGTERM goes to the sandbox's command (or, in a sandbox made by 'hops create',
      to every process in it). A stopped sandbox stays, with its exit code, until
      'hops rm'. Prints each name or id once stopped.
      """)

  @Option(name: [.short, .long], help: "Seconds to wait after SIGTERM before SIGKILL (default 10).")
  var time: Double = 10

  @Argument(help: "Names, ids or unique id prefixes.")
  var sandboxes: [String]

  @OptionGroup var daemon: DaemonOptions

  func validate() throws {
    guard time >= 0, time <= 3600 else { throw ValidationError("--time must be between 0 and 3600 seconds") }
  }

  func run() async throws {
    try await reportingErrors {
      let connection = try daemon.connect()
      let grace = time
      try await ForEachSandbox.run(sandboxes) { sandbox in
        _ = try await connection.withClient { client in
          try await client.stop(.with {
            $0.sandbox = sandbox
            $0.graceSeconds = grace
          }, options: DaemonConnection.callOptions)
        }
        print(sandbox)
      }
    }
  }
}

/// Commands over several sandboxes go on after one fails, as `docker stop`
/// does, and fail (125) at the end if any did.
enum ForEachSandbox {
  static func run(_ references: [String], _ body: (String) async throws -> Void) async throws {
    var failed = 0
    for reference in references {
      do { try await body(reference) } catch {
        failed += 1
        _ = try? await reportingErrors { throw error }
      }
    }
    if failed > 0 { throw ExitCode(ExitCodes.hopsFailure) }
  }
}
