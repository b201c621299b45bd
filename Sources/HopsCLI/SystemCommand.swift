import ArgumentParser

/// `hops system start | status | stop | restart | prune`: the daemon's life.
struct SystemCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "system",
    abstract: "Start, inspect, stop or restart the Hops daemon (hopsd); prune stopped sandboxes.",
    subcommands: [SystemStart.self, SystemStatus.self, SystemStop.self, SystemRestart.self, SystemPrune.self])
}
