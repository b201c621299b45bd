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
  public var usage: SandboxUsage

  public init(code: Int32, signal: Int32 = 0, message: String? = nil, keptPath: String? = nil, usage: SandboxUsage = SandboxUsage()) {
    self.code = code
    self.signal = signal
    self.message = message
    self.keptPath = keptPath
    self.usage = usage
  }
}

/// What a sandbox used: its cgroup's counters plus the wall time.
public struct SandboxUsage: Sendable, Equatable {
  public var wallSeconds: Double = 0
  public var cpuSeconds: Double = 0
  public var memoryBytes: UInt64 = 0
  public var peakMemoryBytes: UInt64 = 0
  public var processes: Int = 0
  public var peakProcesses: Int = 0
  public var oomKilled = false
  public var timedOut = false

  public init() {}
}
