import Testing

@testable import HopsInit

@Suite struct CommandResolverTests {
  let files: [String: CommandResolver.FileKind] = [
    "/bin/echo": .executable,
    "/usr/bin/data": .notExecutable,
    "/bin/data": .missing,
    "/usr/bin/tools": .directory,
    "/usr/local/bin/tool": .executable,
  ]
  func kind(_ path: String) -> CommandResolver.FileKind { files[path] ?? .missing }

  @Test func bareNamesResolveThroughPathInOrder() {
    #expect(CommandResolver.resolve("echo", path: "/usr/bin:/bin", kind: kind) == .found("/bin/echo"))
    #expect(CommandResolver.resolve("tool", path: "/usr/local/bin:/bin", kind: kind) == .found("/usr/local/bin/tool"))
  }

  @Test func missingCommandNamesThePathSearched() {
    guard case .notFound(let message) = CommandResolver.resolve("nope", path: "/usr/bin:/bin", kind: kind) else {
      Issue.record("expected notFound")
      return
    }
    #expect(message.contains("nope"))
    #expect(message.contains("PATH=/usr/bin:/bin"))
  }

  @Test func nonExecutableFileIs126NotFound() {
    guard case .notExecutable = CommandResolver.resolve("data", path: "/usr/bin:/bin", kind: kind) else {
      Issue.record("expected notExecutable")
      return
    }
  }

  @Test func directoriesAreSkippedInPathAndRefusedWhenNamed() {
    #expect(CommandResolver.resolve("tools", path: "/usr/bin", kind: kind) != .found("/usr/bin/tools"))
    guard case .notExecutable = CommandResolver.resolve("/usr/bin/tools", path: "", kind: kind) else {
      Issue.record("expected notExecutable")
      return
    }
  }

  @Test func pathsWithSlashAreNotSearched() {
    #expect(CommandResolver.resolve("/bin/echo", path: "", kind: kind) == .found("/bin/echo"))
    guard case .notFound = CommandResolver.resolve("./echo", path: "/bin", kind: kind) else {
      Issue.record("expected notFound")
      return
    }
  }

  @Test func planRoundTripsThroughJSON() throws {
    let plan = LaunchPlan(
      lowerDir: "/l", upperDir: "/u", workDir: "/w", rootfsMount: "/r", workspace: "/tmp",
      workspaceTarget: "/workspace", hostname: "h", workingDirectory: "/workspace",
      argv: ["echo", "hi"], environment: ["PATH=/bin"], capabilities: LaunchPlan.defaultCapabilities)
    let data = try JSONEncoderForTests.encode(plan)
    #expect(try JSONDecoderForTests.decode(data) == plan)
  }
}
