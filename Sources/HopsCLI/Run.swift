import ArgumentParser
import FoundationEssentials
import Dispatch
import GRPCCore
import Glibc
import HopsAPI
import HopsCore
import HopsDirectRun
import HopsOS
import HopsPolicy

/// `hops run [PATH] -- COMMAND...`: one command in a throw-away sandbox.
struct Run: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run",
    abstract: "Run a command in a new sandbox and exit with its exit code.",
    discussion: """
      PATH (default: the current directory) is shown read-write at /workspace, where
      the command starts. Everything after -- is the command; a bare name is looked
      up through PATH inside the sandbox.

      Exit codes: the command's own; 128+N when signal N ended it; 127 command not
      found; 126 not executable; 125 Hops itself failed (the message says why).

      With -d the sandbox runs detached: its id is printed, its output goes to its
      log ('hops logs'), and it stays until 'hops rm'.
      """)

  @Argument(help: "Host directory to show at /workspace (default: the current directory).")
  var path: String?

  @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.")
  var command: [String] = []

  @OptionGroup var sandbox: SandboxOptions

  @Option(help: "A unique name to refer to the sandbox by (ps, exec, stop...).")
  var name: String?

  @Flag(name: [.short, .long], help: "Run detached: print the sandbox's id and return; see its output with 'hops logs'.")
  var detach = false

  @Flag(name: [.short, .long], help: "Say what the sandbox will be before running it.")
  var verbose = false

  @Flag(name: [.short, .long], help: "Keep stdin open, without a terminal unless -t is given too.")
  var interactive = false

  @Flag(name: [.short, .long], help: "Run the command on a terminal (needs a terminal on stdin).")
  var tty = false

  @Flag(help: "From a terminal: no terminal in the sandbox and no stdin (the default there is interactive).")
  var noInteractive = false

  @OptionGroup var daemon: DaemonOptions

  func validate() throws {
    if command.isEmpty && sandbox.image == nil {
      throw ValidationError("no command given: write it after --, for example: hops run -- /bin/echo hi")
    }
    if detach && (tty || interactive) {
      throw ValidationError("-d runs without a client: it cannot take -t or -i (use 'hops exec -it' into it instead)")
    }
  }

  func run() async throws {
    let exitCode: Int32 = try await reportingErrors {
      let (policy, profile) = try sandbox.buildPolicy(path: path, home: daemon.home)
      let mode = try stdioMode()
      if verbose { sandbox.describe(policy, profile: profile, command: command) }
      if !detach, mode != .terminal, sandbox.image == nil,
        let streams = DirectRunClient.streams(forwardStdin: mode == .pipes(forwardStdin: true))
      {
        let request = DirectRunRequest(
          settings: sandbox.settings, workspace: try SandboxSettings.absoluteDirectory(path ?? "."), command: command, name: name,
          terminalType: getenv("TERM").map { String(cString: $0) },
          policyFile: try sandbox.settings.policyFile.map(PolicyFileText.read))
        let direct = DirectRunClient(home: daemon.home, request: request) { forward in
          // This process has threads of its own: Dispatch catches the signals.
          let sources = RunClient.forwardedSignals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number)
            source.setEventHandler { forward(number) }
            source.resume()
            return source
          }
          return { sources.forEach { $0.cancel() } }
        }
        let verbose = self.verbose
        let exit = try direct.run(streams: streams) { id, address in
          if verbose { Console.error("  Sandbox: \(id)" + (address.map { " (address \($0))" } ?? "")) }
        }
        if let exit {
          exit.report(summary: verbose ? UsageText.summary(exit) : nil)
          return exit.code
        }
      }
      let connection = try daemon.connect()
      if let image = sandbox.image { try await sandbox.pullIfMissing(image, on: connection) }
      var request = Hops_V1_RunRequest(policy: policy, command: command, profile: profile.name)
      request.name = name ?? ""
      if detach {
        let request = request
        let info = try await connection.withClient { client in
          try await client.create(.with {
            $0.run = request
            $0.detached = true
          }, options: DaemonConnection.callOptions)
        }
        print(info.id)
        return 0
      }
      if mode == .terminal {
        let size = HopsOS.Terminal.size(of: 0) ?? HopsOS.Terminal.size(of: 1) ?? HopsOS.Terminal.Size(rows: 24, columns: 80)
        request.terminal = .with {
          $0.rows = UInt32(size.rows)
          $0.columns = UInt32(size.columns)
        }
      }
      return try await RunClient(first: .with { $0.request = request }, call: .run, verbose: verbose, mode: mode).run(on: connection)
    }
    throw ExitCode(exitCode)
  }

  func stdioMode() throws -> RunClient.Mode {
    try RunClient.mode(tty: tty, interactive: interactive, noInteractive: noInteractive)
  }

}
