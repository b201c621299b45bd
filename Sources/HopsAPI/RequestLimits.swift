import HopsCore

/// Bounds on what one request may carry, checked before anything acts on it.
/// Text that reaches the kernel as a C string must not hold NUL, which would
/// silently cut it short (a path, an argument, a variable).
public enum RequestLimits {
  public static let maxArguments = 4096
  public static let maxCommandBytes = 1 << 20
  public static let maxEnvironment = 1024
  public static let maxPaths = 256
  public static let maxMounts = 64
  public static let maxPathBytes = 4096
  public static let maxNameBytes = 255

  public static func checkText(_ text: String, _ what: String, maxBytes: Int) throws {
    if text.utf8.contains(0) { throw HopsError.invalid("\(what) contains a NUL byte") }
    if text.utf8.count > maxBytes { throw HopsError.invalid("\(what) is longer than \(maxBytes) bytes") }
  }

  public static func checkCommand(_ command: [String]) throws {
    if command.count > maxArguments { throw HopsError.invalid("the command has more than \(maxArguments) arguments") }
    var total = 0
    for argument in command {
      try checkText(argument, "a command argument", maxBytes: maxCommandBytes)
      total += argument.utf8.count + 1
    }
    if total > maxCommandBytes { throw HopsError.invalid("the command is longer than \(maxCommandBytes) bytes") }
  }

  public static func checkEnvironment(_ variables: [Hops_V1_EnvironmentVariable]) throws {
    if variables.count > maxEnvironment { throw HopsError.invalid("more than \(maxEnvironment) environment variables") }
    for variable in variables {
      try checkText(variable.name, "an environment variable's name", maxBytes: maxNameBytes)
      try checkText(variable.value, "the environment variable \(variable.name)", maxBytes: maxCommandBytes)
    }
  }

  public static func check(_ request: Hops_V1_RunRequest) throws {
    try checkCommand(request.command)
    try checkEnvironment(request.environment)
    let paths = [request.workspace, request.workingDirectory] + request.allowedPaths + request.deniedPaths
      + request.mounts.flatMap { [$0.source, $0.destination] }
    if request.allowedPaths.count + request.deniedPaths.count > maxPaths { throw HopsError.invalid("more than \(maxPaths) allowed and denied paths") }
    if request.mounts.count > maxMounts { throw HopsError.invalid("more than \(maxMounts) mounts") }
    for path in paths { try checkText(path, "a path", maxBytes: maxPathBytes) }
    for text in [request.rootfs, request.hostname, request.name, request.profile, request.network, request.workspaceMode] {
      try checkText(text, "a name", maxBytes: 512)
    }
    if request.allowNet.count + request.publish.count > maxPaths { throw HopsError.invalid("more than \(maxPaths) network rules") }
  }

  public static func check(_ request: Hops_V1_ExecRequest) throws {
    try checkCommand(request.command)
    try checkEnvironment(request.environment)
    try checkText(request.workingDirectory, "the working directory", maxBytes: maxPathBytes)
    try checkText(request.user, "the user", maxBytes: maxNameBytes)
  }
}
