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
    /// A thread waits for the zygote's end and reaps it (see init).
    var watched = false
  }
  private let state: Mutex<State>
  /// One request at a time. Not the state's Mutex: a request holds this for
  /// the zygote's fork (a network namespace, 0.5 ms), and a Mutex's waiters
  /// spin before they sleep; ten launches at once burned 0.02 ms each so.
  private let requests = CountingSemaphore(value: 1)
  let pid: pid_t

  init(initPath: String, minimalMounts: Bool, codeFromFile: Bool = false) throws(SyscallError) {
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
        path: initPath,
        argv: ["hops-init", Zygote.argument] + (minimalMounts ? [Zygote.minimalMountsArgument] : [])
          + (codeFromFile ? [Zygote.codeFromFileArgument] : []),
        environment: [],
        descriptors: [null.read, null.write, null.write, channel.zygote], newSession: true)
    } catch {
      FD.close(channel.daemon)
      throw error
    }
    state = Mutex(State(channel: channel.daemon))
    // Reaped as soon as it ends (killed from outside, say), not left a zombie
    // until the next request notices.
    let watched = Threads.start(name: "hopsd-zygote") { [self] in
      _ = try? Spawn.wait(pid)
      // Between requests: one under way ends by itself (its zygote is gone).
      requests.wait()
      defer { requests.signal() }
      state.withLock { state in
        guard !state.gone else { return }
        state.gone = true
        FD.close(state.channel)
      }
    }
    state.withLock { $0.watched = watched }
  }

  /// hops-init started by the zygote, as InitStarter would start it; nil when
  /// the zygote is gone. Only the request itself holds the lock: the child's
  /// uid map and set-up are waited for in parallel with other requests.
  func spawn(
    descriptors: [Int32], joining: [Int32], namespaces: Spawn.Namespaces, mapping: Spawn.IDMapping?
  ) throws(SyscallError) -> pid_t? {
    do throws(SyscallError) {
      return try ZygoteCalls.spawn(
        descriptors: descriptors, joining: joining, namespaces: namespaces, newSession: true, mapping: mapping,
        serialized: { request in
          requests.wait()
          defer { requests.signal() }
          // The channel is closed only between requests (see end).
          let (gone, channel) = state.withLock { ($0.gone, $0.channel) }
          return gone ? -1 : request(channel)
        })
    } catch where ZygoteCalls.isGone(error) {
      // Gone (or going): from now on hops-init is spawned.
      stop()
      return nil
    } catch {
      throw error
    }
  }

  /// Closes the channel, which ends the zygote (its watching thread reaps it).
  func stop() {
    requests.wait()
    defer { requests.signal() }
    state.withLock { end(&$0) }
  }

  private func end(_ state: inout State) {
    guard !state.gone else { return }
    state.gone = true
    FD.close(state.channel)
    if !state.watched { _ = try? Spawn.wait(pid) }
  }
}
