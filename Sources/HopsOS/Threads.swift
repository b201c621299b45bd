import Glibc

/// A plain OS thread for work that blocks (poll, read, waitpid) and so must not
/// run on Swift's small pool of async threads.
public enum Threads {
  private final class Box {
    let name: String?
    let body: () -> Void
    init(_ name: String?, _ body: @escaping () -> Void) {
      self.name = name
      self.body = body
    }
  }

  /// Starts a thread for a long-lived loop or session, or says it could not
  /// (running those inline, as `detach` falls back to, would block its caller).
  /// `name` (15 bytes at most) is what ps, top and perf show for it; without
  /// one it keeps its creator's.
  public static func start(name: String? = nil, _ body: @escaping @Sendable () -> Void) -> Bool {
    let box = Unmanaged.passRetained(Box(name, body)).toOpaque()
    var thread = pthread_t()
    let result = pthread_create(&thread, nil, { raw in
      let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
      if let name = box.name { ProcessControl.setName(name) }
      box.body()
      return nil
    }, box)
    guard result == 0 else {
      Unmanaged<Box>.fromOpaque(box).release()
      return false
    }
    pthread_detach(thread)
    return true
  }

  /// Runs `body` on a thread of its own; if none can be started, inline
  /// rather than lose the work.
  public static func detach(name: String? = nil, _ body: @escaping @Sendable () -> Void) {
    if !start(name: name, body) { body() }
  }
}

/// A counting semaphore between such a thread and async code.
public final class CountingSemaphore: @unchecked Sendable {
  private let storage: UnsafeMutablePointer<sem_t>

  public init(value: Int) {
    storage = .allocate(capacity: 1)
    sem_init(storage, 0, UInt32(value))
  }

  deinit {
    sem_destroy(storage)
    storage.deallocate()
  }

  public func wait() { while sem_wait(storage) != 0 && errno == EINTR {} }
  public func signal() { sem_post(storage) }
}

/// Runs blocking work (file system trees, spawning, waiting) on its own thread
/// and resumes the caller when it is done.
public func offloaded<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
  try await withCheckedThrowingContinuation { continuation in
    Threads.detach(name: "hops-offloaded") {
      do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
    }
  }
}
