import ArgumentParser
import Dispatch
import GRPCCore
import Glibc
import HopsAPI
import HopsCore
import HopsPolicy

/// `hops run [PATH] -- COMMAND...`: one command in a throw-away sandbox.
struct Run: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run a command in a new sandbox and exit with its exit code.",
    discussion: """
      PATH (default: the current directory) is shown read-write at /workspace, where
      the command starts. Everything after -- is the command; a bare name is looked
      up through PATH inside the sandbox.

      Exit codes: the command's own; 128+N when signal N ended it; 127 command not
      found; 126 not executable; 125 Hops itself failed (the message says why).
      """)

  @Argument(help: "Host directory to show at /workspace (default: the current directory).")
  var path: String?

  @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.")
  var command: [String] = []

  @Option(help: "Root filesystem to use (see 'hops rootfs list').")
  var rootfs: String = Policy.defaultRootfs

  @Option(help: "Network mode: disabled (default), loopback, outbound, full.")
  var network: String = NetworkMode.disabled.rawValue

  @Option(name: [.short, .customLong("env")], help: "Set an environment variable (NAME=VALUE); repeatable.")
  var environment: [String] = []

  @Option(name: [.short, .customLong("workdir")], help: "Directory inside the sandbox to start in (default /workspace).")
  var workingDirectory: String?

  @Option(help: "Host name inside the sandbox.")
  var hostname: String = "hops"

  @Flag(help: "Keep the sandbox's files after the run and print where they are.")
  var keep = false

  @Flag(name: [.short, .long], help: "Say what the sandbox will be before running it.")
  var verbose = false

  @OptionGroup var daemon: DaemonOptions

  func validate() throws {
    if command.isEmpty {
      throw ValidationError("no command given: write it after --, for example: hops run -- /bin/echo hi")
    }
  }

  func run() async throws {
    let exitCode: Int32 = try await reportingErrors {
      let policy = try buildPolicy()
      if verbose { describe(policy) }
      let connection = try daemon.connect()
      return try await RunClient(request: request(for: policy), verbose: verbose).run(on: connection)
    }
    throw ExitCode(exitCode)
  }

  /// Flags become a Policy, validated here so mistakes are caught before any
  /// daemon work.
  func buildPolicy() throws -> Policy {
    var policy = Policy()
    let workspace = try Self.absoluteDirectory(path ?? ".")
    policy.workspace = workspace
    policy.rootfs = rootfs
    policy.network = try NetworkMode.parse(network)
    policy.hostname = hostname
    policy.keep = keep
    if let workingDirectory { policy.workingDirectory = workingDirectory }
    policy.environment = Policy.defaultEnvironment(term: getenv("TERM").map { String(cString: $0) })
    policy.setEnvironment("HOSTNAME", hostname)
    for assignment in environment {
      let (key, value) = try Policy.parseEnvironmentAssignment(assignment)
      policy.setEnvironment(key, value)
    }
    try policy.validate()
    return policy
  }

  func request(for policy: Policy) -> Hops_V1_RunRequest {
    .with {
      $0.command = command
      $0.workspace = policy.workspace ?? ""
      $0.rootfs = policy.rootfs
      $0.network = policy.network.rawValue
      $0.environment = policy.environment.map { variable in .with { $0.name = variable.key; $0.value = variable.value } }
      $0.hostname = policy.hostname
      $0.workingDirectory = policy.workingDirectory
      $0.keep = policy.keep
    }
  }

  /// The original Hops' --verbose preamble, on stderr so stdout stays the command's.
  func describe(_ policy: Policy) {
    Terminal.error("""
      Hops: Preparing sandbox environment...
        Root: \(policy.workspace ?? "(none)")
        Rootfs: \(policy.rootfs)
        Command: \(command.joined(separator: " "))
        Network: \(policy.network.rawValue)
      """)
  }

  /// Resolves PATH to an absolute, symlink-free directory on the host.
  static func absoluteDirectory(_ path: String) throws -> String {
    guard let resolved = realpath(path, nil) else {
      throw HopsError.notFound("workspace \(path): \(String(cString: strerror(errno)))", hint: "give an existing directory")
    }
    defer { free(resolved) }
    let result = String(cString: resolved)
    var info = stat()
    guard stat(result, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
      throw HopsError.invalid("workspace \(path) is not a directory")
    }
    return result
  }
}
