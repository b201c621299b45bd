import ArgumentParser
import HopsAPI
import HopsCore

/// `hops create [PATH] --name NAME`: a sandbox that stays up, for `hops exec`.
struct Create: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "create",
    abstract: "Start a sandbox that stays up (no command) for 'hops exec'; print its id.",
    discussion: """
      The sandbox gets the same policy as 'hops run' would give it (profile, flags,
      PATH at /workspace). It runs until 'hops stop' (or 'hops rm -f'), or until
      the daemon stops: sandboxes do not outlive hopsd.
      """)

  @Argument(help: "Host directory to show at /workspace (default: the current directory).")
  var path: String?

  @OptionGroup var sandbox: SandboxOptions

  @Option(help: "A unique name to refer to the sandbox by.")
  var name: String?

  @OptionGroup var daemon: DaemonOptions

  func run() async throws {
    try await reportingErrors {
      let (policy, profile) = try sandbox.buildPolicy(path: path, home: daemon.home)
      let connection = try daemon.connect()
      if let image = sandbox.image { try await sandbox.pullIfMissing(image, on: connection) }
      var request = Hops_V1_RunRequest(policy: policy, command: [], profile: profile.name)
      request.name = name ?? ""
      let run = request
      let info = try await connection.withClient { client in
        try await client.create(.with { $0.run = run }, options: DaemonConnection.callOptions)
      }
      print(info.id)
    }
  }
}
