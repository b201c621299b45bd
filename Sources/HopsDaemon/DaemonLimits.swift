/// What one daemon takes on, so that a flood of calls meets a clear refusal
/// instead of exhausting the host. Streams (stdin, output, copies) are bounded
/// by back-pressure, logs by rotation, messages by size.
struct DaemonLimits: Sendable {
  static let defaultMaxSandboxes = 256
  /// The largest message a client may send (a stdin chunk, a copy's data).
  static let maxMessageBytes = 8 << 20

  /// HTTP/2 flow-control window per stream, and frame size (the CLI uses the same).
  static let streamWindowBytes = 1 << 20
  static let frameBytes = 256 << 10

  /// Sandboxes running (or being launched) at once.
  var maxSandboxes = defaultMaxSandboxes

  /// Sandboxes' hops-init kept started ahead of need (WarmPool): each costs
  /// an idle process (about 1 MiB) and a user id range, and saves every launch
  /// the wait to move a process into a cgroup and the start of hops-init.
  static let defaultWarmSandboxes = 4
  var warmSandboxes = defaultWarmSandboxes
}
