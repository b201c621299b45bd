import ArgumentParser
import Glibc
import HopsAPI
import HopsCore
import HopsOS
import HopsPolicy

/// `hops exec SANDBOX -- COMMAND...`: another command in a running sandbox.
struct Exec: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "exec",
    abstract: "Run a command in a running sandbox and exit with its exit code.",
    discussion: """
      The command runs with the sandbox's environment, limits and restrictions, in
      its working directory unless -w says otherwise. Its output streams back and
      'hops exec' exits with its exit code (the same codes as 'hops run'). A
      stopped sandbox is refused.
      """)

  @Argument(help: "Name, id or unique id prefix of a running sandbox.")
  var sandbox: String

  @Argument(parsing: .captureForPassthrough, help: "The command and its arguments (after --).")
  var command: [String] = []

  @Option(name: [.short, .customLong("env")], help: "Set an environment variable (NAME=VALUE); repeatable.")
  var environment: [String] = []

  @Option(name: [.short, .customLong("workdir")], help: "Directory inside the sandbox to start in.")
  var workingDirectory: String?

  @Option(name: [.short, .long], help: "User to run as (a name or uid[:gid] of the sandbox's /etc/passwd).")
  var user: String?

  @Flag(name: [.short, .long], help: "Keep stdin open, without a terminal unless -t is given too.")
  var interactive = false

  @Flag(name: [.short, .long], help: "Run the command on a terminal (needs a terminal on stdin).")
  var tty = false

  @Flag(help: "From a terminal: no terminal and no stdin (the default there is interactive).")
  var noInteractive = false

  @OptionGroup var daemon: DaemonOptions

  var argv: [String] { command.first == "--" ? Array(command.dropFirst()) : command }

  func validate() throws {
    if argv.isEmpty {
      throw ValidationError("no command given: write it after --, for example: hops exec \(sandbox) -- /bin/sh")
    }
  }

  func run() async throws {
    let exitCode: Int32 = try await reportingErrors {
      let mode = try RunClient.mode(tty: tty, interactive: interactive, noInteractive: noInteractive)
      var variables: [Hops_V1_EnvironmentVariable] = []
      if mode == .terminal, let term = getenv("TERM").map({ String(cString: $0) }) {
        variables.append(.with { $0.name = "TERM"; $0.value = term })
      }
      for assignment in environment {
        let (key, value) = try Policy.parseEnvironmentAssignment(assignment)
        variables.append(.with { $0.name = key; $0.value = value })
      }
      var request = Hops_V1_ExecRequest.with {
        $0.sandbox = sandbox
        $0.command = argv
        $0.environment = variables
        $0.workingDirectory = workingDirectory ?? ""
        $0.user = user ?? ""
      }
      if mode == .terminal {
        let size = HopsOS.Terminal.size(of: 0) ?? HopsOS.Terminal.size(of: 1) ?? HopsOS.Terminal.Size(rows: 24, columns: 80)
        request.terminal = .with {
          $0.rows = UInt32(size.rows)
          $0.columns = UInt32(size.columns)
        }
      }
      let connection = try daemon.connect()
      return try await RunClient(first: .with { $0.exec = request }, call: .exec, verbose: false, mode: mode).run(on: connection)
    }
    throw ExitCode(exitCode)
  }
}
