/// What a running sandbox produces, in order: output chunks, then exactly one exit.
public enum SandboxEvent: Sendable {
  case stdout([UInt8])
  case stderr([UInt8])
  case exit(SandboxExit)
}

public struct SandboxExit: Sendable, Equatable {
  /// The command's exit code, 128+N after signal N, or Hops' own 125-127.
  public var code: Int32
  /// The signal that ended the command, 0 if none.
  public var signal: Int32
  /// Why Hops ended the run or could not start it; nil when the command simply exited.
  public var message: String?
  /// Where the sandbox's files are, when kept.
  public var keptPath: String?

  public init(code: Int32, signal: Int32 = 0, message: String? = nil, keptPath: String? = nil) {
    self.code = code
    self.signal = signal
    self.message = message
    self.keptPath = keptPath
  }
}
