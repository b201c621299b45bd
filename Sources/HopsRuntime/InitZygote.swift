import Glibc
import HopsInit
import HopsOS
import Synchronization

/// The daemon's side of the hops-init zygote (see HopsInit's Zygote): started
/// with the daemon, it forks each sandbox's hops-init on request, already past
/// the execve and the runtime's start that a spawn costs every sandbox (about
/// half a millisecond of CPU). Requests are served one at a time. If the
/// zygote is gone (killed from outside), `spawn` says so and the caller starts
/// hops-init itself, as it does without a zygote.
final class InitZygote: Sendable {
  private struct State {
    var channel: Int32
    var gone = false
  }
  private let state: Mutex<State>
  let pid: pid_t

  init(initPath: String) throws(SyscallError) {
    let channel = try ZygoteCalls.channel()
    defer { FD.close(channel.zygote) }
    let null: (read: Int32, write: Int32)
    do { null = try FD.openNull() } catch {
      FD.close(channel.daemon)
      throw error
    }
    defer { FD.close(null.read); FD.close(null.write) }
    do {
      pid = try Spawn.start(
        path: initPath, argv: ["hops-init", Zygote.argument], environment: [],
        descriptors: [null.read, null.write, null.write, channel.zygote], newSession: true)
    } catch {
      FD.close(channel.daemon)
      throw error
    }
    state = Mutex(State(channel: channel.daemon))
  }

  /// hops-init started by the zygote, as InitStarter would start it; nil when
  /// the zygote is gone.
  func spawn(
    descriptors: [Int32], joining: [Int32], namespaces: Spawn.Namespaces, mapping: Spawn.IDMapping?
  ) throws(SyscallError) -> pid_t? {
    try state.withLock { (state: inout State) throws(SyscallError) -> pid_t? in
      guard !state.gone else { return nil }
      do throws(SyscallError) {
        return try ZygoteCalls.spawn(
          channel: state.channel, descriptors: descriptors, joining: joining, namespaces: namespaces, newSession: true,
          mapping: mapping)
      } catch where error.errno == EPIPE || error.errno == ECONNRESET {
        end(&state)
        return nil
      } catch {
        throw error
      }
    }
  }

  /// Closes the channel, which ends the zygote, and reaps it.
  func stop() {
    state.withLock { end(&$0) }
  }

  private func end(_ state: inout State) {
    guard !state.gone else { return }
    state.gone = true
    FD.close(state.channel)
    _ = try? Spawn.wait(pid)
  }
}
