import ArgumentParser
import HopsAPI
import HopsCore

/// `hops init`: set up $HOPS_HOME and the default rootfs. Safe to run again.
struct InitCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "init",
    abstract: "Set up $HOPS_HOME and the default rootfs (idempotent).",
    discussion: """
      The default rootfs is imported from $HOPS_HOME/alpine-minirootfs.tar.gz when that
      file exists, and otherwise built from the host's static BusyBox (busybox-static).
      """)

  @OptionGroup var daemon: DaemonOptions

  func run() async throws {
    try await reportingErrors {
      let connection = try daemon.connect()
      let reply = try await connection.withClient { client in
        try await client.setup(Hops_V1_SetupRequest(), options: DaemonConnection.callOptions)
      }
      print("Hops home: \(reply.home)")
      let rootfs = reply.defaultRootfs
      print("Default rootfs: \(rootfs.path) (from \(rootfs.source)) \(reply.created ? "created" : "already present")")
    }
  }
}
