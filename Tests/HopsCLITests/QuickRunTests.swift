import Testing

@testable import HopsCLI
@testable import HopsDirectRun

/// QuickRun reads `hops run` without ArgumentParser: for every command line it
/// takes, it must read exactly what ArgumentParser reads, and it must hand
/// back every command line it does not fully understand.
@Suite struct QuickRunTests {
  /// Command lines QuickRun takes, each checked against ArgumentParser.
  static let taken: [[String]] = [
    ["run", "--", "/bin/true"],
    ["run", "/tmp", "--", "sh", "-c", "echo hi"],
    ["run", "--memory", "256M", "--cpus", "1", "/tmp", "--", "/bin/true"],
    ["run", "--memory=256M", "--cpus=0.5", "--", "/bin/true"],
    ["run", "--network", "loopback", "--allow-net", "10.0.0.0/8:80", "--allow-net=192.168.0.0/16", "--", "true"],
    ["run", "-e", "A=1", "--env", "B=2", "--env=C=3", "-w", "/", "--hostname", "box", "--", "env"],
    ["run", "--profile", "strict", "--timeout", "5s", "--max-processes", "50", "--keep", "--", "true"],
    ["run", "--config", "/etc/hops.toml", "--rootfs", "alpine", "--cpuset", "0-1", "--", "true"],
    ["run", "--workspace-mode", "overlay", "--name", "job-1", "-i", "--no-auto-start", ".", "--", "cat"],
    ["run", "--no-interactive", "-p", "8080:80", "--publish", "8443:443/tcp", "--", "true"],
    ["run", "--", "/bin/sh", "--memory", "not-ours"],
  ]

  /// Command lines it hands back to ArgumentParser.
  static let handedBack: [[String]] = [
    ["run"],
    ["run", "/bin/true"],
    ["run", "--"],
    ["ps"],
    ["run", "-t", "--", "sh"],
    ["run", "-d", "--", "sleep", "1"],
    ["run", "-v", "--", "true"],
    ["run", "--verbose", "--", "true"],
    ["run", "--image", "alpine", "--", "true"],
    ["run", "--help", "--", "true"],
    ["run", "--memory", "--", "true"],
    ["run", "--memory", "1G", "--memory", "2G", "--", "true"],
    ["run", "--keep=yes", "--", "true"],
    ["run", "-eA=1", "--", "true"],
    ["run", "--max-processes", "many", "--", "true"],
    ["run", "one", "two", "--", "true"],
    ["run", "--unknown", "--", "true"],
    ["run", "--timeout", "-5", "--", "true"],
  ]

  @Test(arguments: taken) func readsWhatArgumentParserReads(_ arguments: [String]) throws {
    let quick = try #require(QuickRun.parse(arguments))
    let run = try Run.parse(Array(arguments.dropFirst()))
    #expect(quick.settings == run.sandbox.settings)
    #expect(quick.path == run.path)
    #expect(quick.command == run.command)
    #expect(quick.name == run.name)
    #expect(quick.interactive == run.interactive)
    #expect(quick.noInteractive == run.noInteractive)
    #expect(quick.noAutoStart == run.daemon.noAutoStart)
    #expect(!run.detach && !run.tty && !run.verbose)
  }

  @Test(arguments: handedBack) func handsBackWhatItDoesNotKnow(_ arguments: [String]) {
    #expect(QuickRun.parse(arguments) == nil)
  }
}
