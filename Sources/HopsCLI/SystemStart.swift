import ArgumentParser
import HopsCore

struct SystemStart: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "start", abstract: "Start hopsd in the background.")

  func run() async throws {
    try await reportingErrors {
      let connection = DaemonConnection(home: HopsHome.fromEnvironment())
      if connection.isRunning() {
        let status = try await DaemonStatus.fetch(connection)
        print("hopsd is already running (pid \(status.pid))")
        return
      }
      try connection.startDaemon()
      let status = try await DaemonStatus.fetch(connection)
      print("hopsd started (pid \(status.pid), socket \(connection.home.socketPath))")
    }
  }
}
