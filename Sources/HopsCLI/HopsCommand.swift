import ArgumentParser
import HopsCore

/// `hops`: the command-line interface.
public struct HopsCommand: AsyncParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "hops",
    abstract: "Run untrusted code in throw-away Linux sandboxes.",
    discussion: """
      hops run ./project -- make test
      runs the command in a sandbox that sees ./project at /workspace and nothing
      else of the host, and exits with the command's exit code.
      """,
    version: HopsVersion.current,
    subcommands: [
      Run.self, Create.self, Exec.self, Ps.self, Logs.self, Inspect.self, Stats.self, Stop.self, Rm.self, Cp.self,
      InitCommand.self, SystemCommand.self, RootfsCommand.self, ProfileCommand.self, ImageCommand.self, Doctor.self,
    ])

  public init() {}
}
