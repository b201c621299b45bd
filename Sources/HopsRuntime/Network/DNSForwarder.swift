import Glibc
import HopsOS
import HopsPolicy
import Synchronization

/// A tiny DNS forwarder for hosts whose resolver listens on loopback
/// (127.0.0.53 and the like), which sandboxes cannot reach: it listens on the
/// sandboxes' gateway address, UDP port 53, and relays each query to the host's
/// resolver and the answer back. One thread receives; each query gets its own
/// short-lived thread and upstream socket, so a slow answer holds up no other.
final class DNSForwarder: Sendable {
  private let socketFD: Int32
  private let upstream: UInt32

  private struct State {
    var stopped = false
    var serving = true
    /// Queries being relayed; beyond the cap, queries are dropped (DNS clients
    /// retry), so a flood cannot take the daemon's threads or descriptors.
    var inFlight = 0
    var closed = false
  }
  private let state = Mutex(State())
  static let maxInFlight = 32

  init(listenOn address: UInt32, upstream: UInt32) throws {
    self.upstream = upstream
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw SyscallError("socket", errno: errno) }
    var local = Self.socketAddress(address, port: 53)
    let bound = withUnsafePointer(to: &local) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else {
      let code = errno
      close(fd)
      throw SyscallError("bind", errno: code, detail: "\(IPv4.format(address)):53")
    }
    socketFD = fd
    Threads.detach(name: "hopsd-dns") { [self] in self.serve() }
  }

  /// Idempotent. The socket is closed only once nothing uses it any more (the
  /// receiving thread has left and no relay will answer on it), so its number
  /// can never be reused under a relay's feet.
  func stop() {
    let first = state.withLock { state in
      defer { state.stopped = true }
      return !state.stopped
    }
    if first { shutdown(socketFD, Int32(SHUT_RDWR)) }
    closeIfIdle()
  }

  private func closeIfIdle() {
    let close = state.withLock { state in
      guard state.stopped, !state.serving, state.inFlight == 0, !state.closed else { return false }
      state.closed = true
      return true
    }
    if close { Glibc.close(socketFD) }
  }

  private func serve() {
    defer {
      state.withLock { $0.serving = false }
      closeIfIdle()
    }
    var buffer = [UInt8](repeating: 0, count: 4096)
    while !state.withLock({ $0.stopped }) {
      var client = sockaddr_in()
      var length = socklen_t(MemoryLayout<sockaddr_in>.size)
      let n = buffer.withUnsafeMutableBytes { raw in
        withUnsafeMutablePointer(to: &client) {
          $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(socketFD, raw.baseAddress, raw.count, 0, $0, &length) }
        }
      }
      if n <= 0 {
        if n < 0 && errno == EINTR { continue }
        return
      }
      let admitted = state.withLock { state in
        guard state.inFlight < Self.maxInFlight else { return false }
        state.inFlight += 1
        return true
      }
      guard admitted else { continue }
      let query = Array(buffer[0..<n])
      let reply = socketFD
      let upstream = self.upstream
      let from = client
      Threads.detach(name: "hopsd-dns-query") { [self] in
        Self.relay(query, to: upstream, replyOn: reply, client: from)
        state.withLock { $0.inFlight -= 1 }
        closeIfIdle()
      }
    }
  }

  private static func relay(_ query: [UInt8], to upstream: UInt32, replyOn reply: Int32, client: sockaddr_in) {
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return }
    defer { close(fd) }
    var server = socketAddress(upstream, port: 53)
    let connected = withUnsafePointer(to: &server) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0, query.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == query.count else { return }
    var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    guard poll(&poller, 1, 5000) == 1 else { return }
    var answer = [UInt8](repeating: 0, count: 65535)
    let n = answer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
    guard n > 0 else { return }
    var destination = client
    _ = answer.withUnsafeBytes { raw in
      withUnsafePointer(to: &destination) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          sendto(reply, raw.baseAddress, n, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
      }
    }
  }

  static func socketAddress(_ address: UInt32, port: UInt16) -> sockaddr_in {
    var value = sockaddr_in()
    value.sin_family = sa_family_t(AF_INET)
    value.sin_port = port.bigEndian
    value.sin_addr.s_addr = address.bigEndian
    return value
  }
}
