import ArgumentParser
import FoundationEssentials
import GRPCCore
import HopsAPI
import HopsCore

struct SystemStatus: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "status", abstract: "Say whether hopsd runs, and its uptime and sandboxes.",
    discussion: "Exits 0 when the daemon is running, 1 when it is not.")

  func run() async throws {
    let connection = DaemonConnection(home: HopsHome.fromEnvironment())
    guard connection.isRunning() else {
      print("Hops daemon: not running")
      print("\n  Socket: \(connection.home.socketPath)")
      throw ExitCode(1)
    }
    try await reportingErrors {
      let status = try await DaemonStatus.fetch(connection)
      print("""
        Hops daemon: running

          PID: \(status.pid)
          Version: \(status.version)
          Uptime: \(DaemonStatus.formatDuration(status.uptimeSeconds))
          Started: \(DaemonStatus.formatDate(status.startedAt))
          Sandboxes: \(status.runningSandboxes) running, \(status.stoppedSandboxes) stopped
          Disk: \(UsageText.bytes(status.imagesBytes)) images and root filesystems, \(UsageText.bytes(status.sandboxesBytes)) sandboxes
          Resource control: \(status.cgroups)
          User namespaces: \(status.userNamespaces)
          Home: \(status.home)
        """)
    }
  }
}

enum DaemonStatus {
  static func fetch(_ connection: DaemonConnection) async throws -> Hops_V1_StatusReply {
    try await connection.withClient { client in
      try await client.status(.with { $0.diskUsage = true }, options: DaemonConnection.callOptions)
    }
  }

  static func formatDuration(_ seconds: Double) -> String {
    let total = Int(seconds)
    let (days, hours, minutes, secs) = (total / 86400, total % 86400 / 3600, total % 3600 / 60, total % 60)
    if days > 0 { return "\(days)d \(hours)h \(minutes)m" }
    if hours > 0 { return "\(hours)h \(minutes)m \(secs)s" }
    if minutes > 0 { return "\(minutes)m \(secs)s" }
    return "\(secs)s"
  }

  static func formatDate(_ epoch: Double) -> String {
    Date(timeIntervalSince1970: epoch).formatted(.iso8601)
  }
}
