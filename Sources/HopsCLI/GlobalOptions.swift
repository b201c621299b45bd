import ArgumentParser
import HopsCore

/// Options every command that talks to the daemon accepts.
struct DaemonOptions: ParsableArguments {
  @Flag(help: "Fail instead of starting hopsd when it is not running.")
  var noAutoStart = false

  var home: HopsHome { HopsHome.fromEnvironment() }

  /// A connection with the daemon running (started if allowed and needed).
  func connect() throws -> DaemonConnection {
    let connection = DaemonConnection(home: home)
    try connection.ensureRunning(autoStart: !noAutoStart)
    return connection
  }
}
