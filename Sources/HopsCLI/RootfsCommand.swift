import ArgumentParser
import FoundationEssentials
import Glibc
import HopsAPI
import HopsCore
import HopsPolicy

/// `hops rootfs create | list | rm`: the root filesystems sandboxes start from.
struct RootfsCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rootfs",
    abstract: "Create, list and remove root filesystems.",
    subcommands: [RootfsCreate.self, RootfsList.self, RootfsRemove.self])
}

struct RootfsCreate: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "create", abstract: "Create a rootfs from a tarball (.tar, .tar.gz) or a directory.")

  @Argument(help: "Name to give the rootfs.")
  var name: String

  @Option(help: "A .tar/.tar.gz/.tgz file, or a directory, to build it from.")
  var from: String

  @Flag(help: "Replace an existing rootfs of the same name.")
  var replace = false

  @OptionGroup var daemon: DaemonOptions

  func run() async throws {
    try await reportingErrors {
      try Policy.validateName(name, what: "rootfs")
      guard let resolved = realpath(from, nil) else {
        throw HopsError.notFound("\(from): \(String(cString: strerror(errno)))", hint: "give an existing tarball or directory")
      }
      let source = String(cString: resolved)
      free(resolved)
      let connection = try daemon.connect()
      let request = Hops_V1_CreateRootfsRequest.with {
        $0.name = name
        $0.source = source
        $0.replace = replace
      }
      let info = try await connection.withClient { client in
        try await client.createRootfs(request, options: DaemonConnection.callOptions)
      }
      print("created rootfs '\(info.name)' at \(info.path) (\(UsageText.bytes(info.sizeBytes)))")
    }
  }
}

struct RootfsList: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "list", abstract: "List root filesystems.", aliases: ["ls"])

  @OptionGroup var daemon: DaemonOptions

  func run() async throws {
    try await reportingErrors {
      let connection = try daemon.connect()
      let reply = try await connection.withClient { client in
        try await client.listRootfs(Hops_V1_ListRootfsRequest(), options: DaemonConnection.callOptions)
      }
      if reply.rootfs.isEmpty {
        print("no rootfs yet: 'hops init' creates the default one")
        return
      }
      let rows = [["NAME", "SIZE", "CREATED", "SOURCE"]]
        + reply.rootfs.map {
          [$0.name, UsageText.bytes($0.sizeBytes), Date(timeIntervalSince1970: $0.createdAt).formatted(.iso8601), $0.source]
        }
      print(TableText.render(rows))
    }
  }

}

struct RootfsRemove: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a root filesystem.", aliases: ["remove"])

  @Argument(help: "Name of the rootfs.")
  var name: String

  @OptionGroup var daemon: DaemonOptions

  func run() async throws {
    try await reportingErrors {
      try Policy.validateName(name, what: "rootfs")
      let connection = try daemon.connect()
      _ = try await connection.withClient { [name] client in
        try await client.removeRootfs(.with { $0.name = name }, options: DaemonConnection.callOptions)
      }
      print("removed rootfs '\(name)'")
    }
  }
}
