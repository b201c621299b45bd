import ArgumentParser
import Glibc
import HopsAPI
import HopsCore

struct SystemStop: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "stop", abstract: "Stop hopsd: end every sandbox, clean up, exit.")

  func run() async throws {
    try await reportingErrors {
      let connection = DaemonConnection(home: HopsHome.fromEnvironment())
      if try await Self.stop(connection) { print("hopsd stopped") } else { print("hopsd is not running") }
    }
  }

  /// Asks the daemon to stop and waits until its process is gone. False if it was
  /// not running.
  static func stop(_ connection: DaemonConnection) async throws -> Bool {
    guard connection.isRunning() else { return false }
    let pid = try await DaemonStatus.fetch(connection).pid
    _ = try await connection.withClient { client in
      try await client.shutdown(Hops_V1_ShutdownRequest(), options: DaemonConnection.callOptions)
    }
    for _ in 0..<1500 {
      if kill(pid, 0) != 0 && errno == ESRCH { return true }
      // Our own child (auto-started by this process) would linger as a zombie.
      var status: Int32 = 0
      if waitpid(pid, &status, WNOHANG) == pid { return true }
      usleep(10_000)
    }
    throw HopsError(.failed, "hopsd (pid \(pid)) did not stop within 15 s", hint: "see \(connection.home.logFile)")
  }
}

struct SystemRestart: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "restart", abstract: "Stop hopsd if it runs, then start it.")

  func run() async throws {
    try await reportingErrors {
      let connection = DaemonConnection(home: HopsHome.fromEnvironment())
      _ = try await SystemStop.stop(connection)
      try connection.startDaemon()
      let status = try await DaemonStatus.fetch(connection)
      print("hopsd restarted (pid \(status.pid))")
    }
  }
}
