import ArgumentParser
import FoundationEssentials
import HopsAPI
import HopsCore

/// `hops ps [-a]`: the sandboxes, running (and with -a, stopped).
struct Ps: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ps",
    abstract: "List running sandboxes (with -a, stopped ones too).")

  @Flag(name: [.short, .long], help: "Show stopped sandboxes too.")
  var all = false

  @Flag(name: [.short, .long], help: "Print ids only.")
  var quiet = false

  @OptionGroup var daemon: DaemonOptions

  func run() async throws {
    try await reportingErrors {
      let connection = try daemon.connect()
      let all = self.all
      let reply = try await connection.withClient { client in
        try await client.list(.with { $0.all = all }, options: DaemonConnection.callOptions)
      }
      if quiet {
        reply.sandboxes.forEach { print($0.id) }
        return
      }
      let now = Date().timeIntervalSince1970
      var rows = [["ID", "NAME", "IMAGE", "STATE", "COMMAND", "CREATED", "CPU", "MEMORY"]]
      for sandbox in reply.sandboxes {
        rows.append([
          sandbox.id, sandbox.name.isEmpty ? "-" : sandbox.name, sandbox.rootfs, sandbox.state,
          Self.shortened(sandbox.command.joined(separator: " ")),
          Self.age(now - sandbox.createdAt) + " ago", UsageText.seconds(sandbox.usage.cpuSeconds),
          sandbox.running ? UsageText.bytes(sandbox.usage.memoryBytes) : "-",
        ])
      }
      print(TableText.render(rows))
    }
  }

  static func shortened(_ text: String) -> String {
    text.isEmpty ? "(none)" : text.count > 40 ? String(text.prefix(39)) + "…" : text
  }

  /// "4s", "3m", "2h", "5d".
  static func age(_ seconds: Double) -> String {
    let total = max(0, Int(seconds))
    if total < 60 { return "\(total)s" }
    if total < 3600 { return "\(total / 60)m" }
    if total < 86400 { return "\(total / 3600)h" }
    return "\(total / 86400)d"
  }
}
