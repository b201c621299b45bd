import Glibc
import HopsCore

/// The common `hops run` (no terminal, a daemon already running), done by the
/// small `hops` front without ArgumentParser, gRPC or protobuf: the flags go to
/// the daemon as given (a direct run), and the daemon builds the policy. The
/// full command line (`hops-cli`) costs about 4 ms of CPU to start, mostly
/// loading and first use of those libraries; the front, about 1.
///
/// It reads a plain subset of `run`'s flags (`--flag value`, `--flag=value`,
/// `-e value`), the same way ArgumentParser does (a unit test holds the two to
/// the same result), and hands anything else back: help, -t, -d, --image,
/// --verbose, an unknown or repeated flag, no `--`. Then, or when the run
/// cannot go direct (a terminal, no daemon yet), the front hands the whole
/// command line to `hops-cli`.
public struct QuickRun: Equatable {
  var settings = SandboxSettings()
  var path: String?
  var command: [String] = []
  var name: String?
  var interactive = false
  var noInteractive = false
  var noAutoStart = false

  /// Runs `arguments` (without the program name) if it is such a run; nil
  /// when `hops` must handle them the usual way.
  public static func attempt(_ arguments: [String]) -> Int32? {
    guard let quick = parse(arguments) else { return nil }
    return quick.run()
  }

  static func parse(_ arguments: [String]) -> QuickRun? {
    guard arguments.first == "run", let end = arguments.firstIndex(of: "--") else { return nil }
    var quick = QuickRun()
    quick.command = Array(arguments[(end + 1)...])
    guard !quick.command.isEmpty else { return nil }
    var seen: Set<String> = []
    var index = 1
    // A single-valued flag given twice is left to ArgumentParser.
    func once(_ name: String) -> Bool { seen.insert(name).inserted }
    while index < end {
      let argument = arguments[index]
      index += 1
      guard argument.hasPrefix("-") else {
        guard quick.path == nil else { return nil }
        quick.path = argument
        continue
      }
      var flag = argument
      var inline: String?
      if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
        flag = String(argument[..<equals])
        inline = String(argument[argument.index(after: equals)...])
      }
      func value() -> String? {
        if let inline { return inline }
        guard index < end, !arguments[index].hasPrefix("-") else { return nil }
        index += 1
        return arguments[index - 1]
      }
      switch flag {
      case "--keep", "-i", "--interactive", "--no-interactive", "--no-auto-start":
        guard inline == nil, once(flag == "-i" ? "--interactive" : flag) else { return nil }
        switch flag {
        case "--keep": quick.settings.keep = true
        case "--no-interactive": quick.noInteractive = true
        case "--no-auto-start": quick.noAutoStart = true
        default: quick.interactive = true
        }
      case "-e", "--env":
        guard let v = value() else { return nil }
        quick.settings.environment.append(v)
      case "--allow-net":
        guard let v = value() else { return nil }
        quick.settings.allowNet.append(v)
      case "-p", "--publish":
        guard let v = value() else { return nil }
        quick.settings.publish.append(v)
      default:
        guard let key = singleValued[flag], once(key), let v = value() else { return nil }
        switch key {
        case "profile": quick.settings.profile = v
        case "policy-file": quick.settings.policyFile = v
        case "rootfs": quick.settings.rootfs = v
        case "network": quick.settings.network = v
        case "cpus": quick.settings.cpus = v
        case "cpuset": quick.settings.cpuset = v
        case "memory": quick.settings.memory = v
        case "max-processes":
          guard let number = Int(v) else { return nil }
          quick.settings.maxProcesses = number
        case "timeout": quick.settings.timeout = v
        case "workspace-mode": quick.settings.workspaceMode = v
        case "workdir": quick.settings.workingDirectory = v
        case "hostname": quick.settings.hostname = v
        case "name": quick.name = v
        default: return nil
        }
      }
    }
    return quick
  }

  /// Single-valued flags by spelling, to the setting each sets.
  static let singleValued: [String: String] = [
    "--profile": "profile", "--policy-file": "policy-file", "--config": "policy-file", "--rootfs": "rootfs",
    "--network": "network", "--cpus": "cpus", "--cpuset": "cpuset", "--memory": "memory",
    "--max-processes": "max-processes", "--timeout": "timeout", "--workspace-mode": "workspace-mode",
    "-w": "workdir", "--workdir": "workdir", "--hostname": "hostname", "--name": "name",
  ]

  /// The run's exit code; nil when it must go the usual way after all.
  func run() -> Int32? {
    let home = HopsHome.fromEnvironment()
    do {
      let mode = try StdioMode.choose(tty: false, interactive: interactive, noInteractive: noInteractive)
      guard mode != .terminal, let streams = DirectRunClient.streams(forwardStdin: mode == .pipes(forwardStdin: true)) else {
        return nil
      }
      // What only this side knows: its directory, its rights to the files it
      // names, its TERM.
      let request = DirectRunRequest(
        settings: settings, workspace: try SandboxSettings.absoluteDirectory(path ?? "."), command: command,
        name: name, terminalType: getenv("TERM").map { String(cString: $0) },
        policyFile: try settings.policyFile.map(PolicyFileText.read))
      guard let exit = try DirectRunClient(home: home, request: request).run(streams: streams) else { return nil }
      exit.report()
      return exit.code
    } catch let error as HopsError {
      Console.error("hops: \(error.description)")
    } catch {
      Console.error("hops: \(error)")
    }
    return ExitCodes.hopsFailure
  }
}
