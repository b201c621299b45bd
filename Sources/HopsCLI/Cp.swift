import ArgumentParser
import GRPCCore
import Glibc
import HopsAPI
import HopsCore
import HopsOS

/// `hops cp SRC SANDBOX:DEST` and `hops cp SANDBOX:SRC DEST`: files and
/// directories into and out of a running sandbox.
///
/// The host side is done here, with the user's own rights; the sandbox side by
/// the daemon, through the sandbox's root. Symlinks are copied as symlinks,
/// never followed, on both sides.
struct Cp: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "cp",
    abstract: "Copy files or directories between the host and a running sandbox.",
    discussion: """
      hops cp ./file dev:/workspace/     into the sandbox (into the directory, or to that name)
      hops cp dev:/tmp/out .             out of the sandbox
      A relative path inside the sandbox starts at its working directory. Symlinks
      are copied as links; device nodes, FIFOs and sockets are skipped.
      """)

  @Argument(help: "What to copy: a host path, or SANDBOX:PATH.")
  var source: String

  @Argument(help: "Where to: a host path, or SANDBOX:PATH.")
  var destination: String

  @OptionGroup var daemon: DaemonOptions

  /// SANDBOX:PATH, or nil for a host path. A host path with a ':' can be
  /// written ./a:b.
  static func remote(_ argument: String) -> (sandbox: String, path: String)? {
    guard !argument.hasPrefix("/"), !argument.hasPrefix("."), let colon = argument.firstIndex(of: ":") else { return nil }
    let sandbox = String(argument[..<colon])
    guard !sandbox.isEmpty, !sandbox.contains("/") else { return nil }
    return (sandbox, String(argument[argument.index(after: colon)...]))
  }

  func run() async throws {
    try await reportingErrors {
      switch (Self.remote(source), Self.remote(destination)) {
      case (nil, let target?):
        try await copyIn(from: source, to: target)
      case (let origin?, nil):
        try await copyOut(from: origin, to: destination)
      case (nil, nil):
        throw HopsError.invalid("neither path names a sandbox", hint: "write one of them as SANDBOX:PATH, e.g. hops cp ./file dev:/workspace/")
      case (_?, _?):
        throw HopsError.invalid("both paths name a sandbox", hint: "copy through the host in two steps")
      }
    }
  }

  /// The directory and last component of a host path.
  static func split(_ path: String) throws -> (parent: String, name: String) {
    var trimmed = path
    while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
    if trimmed == "." || trimmed == ".." || trimmed.hasSuffix("/.") || trimmed.hasSuffix("/..") {
      // "." copies the directory itself, under its real name.
      guard let resolved = realpath(trimmed, nil) else { throw HopsError.notFound("\(path): \(errnoString(errno))") }
      defer { free(resolved) }
      trimmed = String(cString: resolved)
    }
    guard trimmed != "/" else { throw HopsError.invalid("cannot copy / itself", hint: "name what is below it") }
    guard let slash = trimmed.lastIndex(of: "/") else { return (".", trimmed) }
    let parent = String(trimmed[..<slash])
    return (parent.isEmpty ? "/" : parent, String(trimmed[trimmed.index(after: slash)...]))
  }

  private func copyIn(from path: String, to target: (sandbox: String, path: String)) async throws {
    let (parentPath, name) = try Self.split(path)
    let parent = open(parentPath, Int32(O_PATH_FLAG) | O_DIRECTORY | O_CLOEXEC)
    guard parent >= 0 else { throw HopsError.notFound("\(parentPath): \(errnoString(errno))") }
    defer { FD.close(parent) }
    var info = stat()
    guard fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
      throw HopsError.notFound("\(path): \(errnoString(errno))")
    }
    let reader = FileTree.Reader(parent: parent, name: name)
    let first = Hops_V1_CopyChunk.with {
      $0.target = .with {
        $0.sandbox = target.sandbox
        $0.path = target.path
        $0.name = name
      }
    }
    let connection = try daemon.connect()
    _ = try await connection.withClient { client in
      try await client.copyIn(
        request: StreamingClientRequest(of: Hops_V1_CopyChunk.self) { writer in
          try await writer.write(first)
          while let item = try Self.reading(path, { try reader.next() }) {
            try await writer.write(Hops_V1_CopyChunk(item))
          }
        }, options: DaemonConnection.callOptions)
    }
  }

  private func copyOut(from origin: (sandbox: String, path: String), to path: String) async throws {
    let connection = try daemon.connect()
    let request = Hops_V1_CopyOutRequest.with {
      $0.sandbox = origin.sandbox
      $0.path = origin.path
    }
    try await connection.withClient { client in
      try await client.copyOut(request, options: DaemonConnection.callOptions) { response in
        var writer: FileTree.Writer?
        var parent: Int32 = -1
        defer { FD.close(parent) }
        for try await chunk in response.messages {
          switch chunk.kind {
          case .target(let target):
            let (directory, name) = try Self.destination(path, name: target.name)
            parent = directory
            writer = FileTree.Writer(parent: directory, name: name)
          case .entry(let wire):
            guard let writer else { throw HopsError.failed("the daemon sent a copy without its target") }
            let entry = try FileTree.Entry(wire)
            try Self.reading(path) { try writer.begin(entry) }
          case .data(let data):
            try Self.reading(path) { try writer?.write(Array(data)) }
          case nil:
            continue
          }
        }
        try Self.reading(path) { try writer?.finish() }
      }
    }
  }

  /// Where a copied-out tree named `name` goes for the host path `path`: into
  /// it if it is a directory, else to that name (whose directory must exist).
  static func destination(_ path: String, name: String) throws -> (Int32, String) {
    let directory = open(path, Int32(O_PATH_FLAG) | O_DIRECTORY | O_CLOEXEC)
    if directory >= 0 { return (directory, name) }
    if path.hasSuffix("/") { throw HopsError.notFound("no directory \(path)", hint: "create it first, or name the file to write") }
    let (parentPath, leaf) = try split(path)
    let parent = open(parentPath, Int32(O_PATH_FLAG) | O_DIRECTORY | O_CLOEXEC)
    guard parent >= 0 else { throw HopsError.notFound("no directory \(parentPath): \(errnoString(errno))") }
    return (parent, leaf)
  }

  static func reading<T>(_ path: String, _ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as SyscallError {
      throw HopsError.failed("cannot copy \(path): \(error)")
    }
  }
}
