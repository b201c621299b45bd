import FoundationEssentials
import Glibc
import HopsCore
import HopsOS
import HopsPolicy
import Synchronization

/// The host side of the outbound and full modes, one per daemon:
///
/// - a bridge `hops<N>` with 10.219.<N>.1/24; each sandbox's veth is a port on it,
///   marked `isolated`, so sandboxes cannot reach each other;
/// - nftables tables `inet hops<N>` (what sandboxes may reach) and
///   `ip hops<N>_nat` (masquerade out, DNAT of published ports in);
/// - a DNS forwarder on the gateway when the host's resolver is on loopback.
///
/// N is the first network slot whose lock (/run/hops/network-N.lock) is free, so
/// daemons of different `$HOPS_HOME`s never share rules. It is all made on the
/// first networked sandbox and removed when the daemon stops; a daemon that finds
/// a slot whose lock is free removes what a crashed one left there.
final class HostNetwork: Sendable {
  static let maxSlots = 64
  static let lockDirectory = "/run/hops"

  let slot: Int
  let bridge: String
  let gateway: UInt32
  private let lockFD: Int32

  private struct State {
    var ready = false
    var used: Set<UInt32> = []
    var forwarder: DNSForwarder?
    var forwarderUpstream: UInt32?
    var enabledForwarding = false
    /// Resolvers already let through the private-range block.
    var allowedResolvers: Set<UInt32> = []
    /// Published host ports ("8080/tcp") held by running sandboxes.
    var publishedPorts: Set<String> = []
  }
  private let state = Mutex(State())

  var subnet: String { IPv4.format(gateway & 0xffff_ff00) + "/24" }
  var table: String { "hops\(slot)" }
  var natTable: String { "hops\(slot)_nat" }

  init() throws {
    mkdir(Self.lockDirectory, 0o755)
    for slot in 0..<Self.maxSlots {
      let fd = open(Self.lockDirectory + "/network-\(slot).lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
      guard fd >= 0 else { continue }
      if flock(fd, LOCK_EX | LOCK_NB) == 0 {
        self.slot = slot
        self.lockFD = fd
        self.bridge = "hops\(slot)"
        self.gateway = IPv4.parse("10.219.\(slot).1")!
        return
      }
      close(fd)
    }
    throw HopsError(.unavailable, "every Hops network slot (\(Self.maxSlots)) is taken by a running daemon")
  }

  /// Removes bridges and tables of slots no daemon holds: leftovers of crashes.
  static func removeOrphans() {
    guard let text = try? Subprocess.run("/usr/sbin/ip", ["-o", "link", "show", "type", "bridge"]).output else { return }
    for slot in 0..<maxSlots where text.contains(": hops\(slot):") || text.contains(": hops\(slot)@") {
      let path = lockDirectory + "/network-\(slot).lock"
      let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
      guard fd >= 0 else { continue }
      defer { close(fd) }
      guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { continue }
      removeRules(slot: slot)
    }
    ForwardingGuard.releaseIfUnused()
  }

  private static func removeRules(slot: Int) {
    NFTables.attempt("delete table inet hops\(slot)")
    NFTables.attempt("delete table ip hops\(slot)_nat")
    try? HostLinks.delete("hops\(slot)")
  }

  /// What a mode needs from the host, or a refusal naming what is missing:
  /// `ip` for the bridge, libnftables (loaded by the daemon) for the rules.
  static func checkHost() throws {
    if access("/usr/sbin/ip", X_OK) != 0 {
      throw HopsError(.unavailable, "the outbound and full network modes need /usr/sbin/ip, which is missing", hint: "apt-get install iproute2")
    }
    if let reason = NFTables.unavailable {
      throw HopsError(.unavailable, "the outbound and full network modes need libnftables: \(reason)", hint: "apt-get install libnftables1")
    }
  }

  /// Makes the bridge, the rules and the sysctls, once. A failure half-way
  /// takes back what was made.
  func prepare() throws {
    try state.withLock { state in
      guard !state.ready else { return }
      try Self.checkHost()
      Self.removeRules(slot: slot)
      do {
        try run("/usr/sbin/ip", ["-batch", "-"], input: """
          link add \(bridge) type bridge
          addr add \(IPv4.format(gateway))/24 dev \(bridge)
          link set \(bridge) up
          """, what: "create the bridge \(bridge) (is the bridge module available?)")
        // Published ports must answer on 127.0.0.1 too: let locally generated
        // packets from loopback leave through our bridge only (not the host).
        try? writeText("/proc/sys/net/ipv4/conf/\(bridge)/route_localnet", "1")
        try? writeText("/proc/sys/net/ipv6/conf/\(bridge)/disable_ipv6", "1")
        try NFTables.run(ruleset(), what: "install the nftables rules")
        try ForwardingGuard.enable()
        state.enabledForwarding = true
      } catch {
        Self.removeRules(slot: slot)
        throw error
      }
      state.ready = true
    }
  }

  /// Reserves published host ports among this daemon's sandboxes: a second
  /// sandbox publishing a port already published is refused, not allowed to
  /// clash with (and later delete) the first one's mapping.
  func reservePorts(_ keys: [String]) throws {
    try state.withLock { state in
      if let taken = keys.first(where: { state.publishedPorts.contains($0) }) {
        throw HopsError(.alreadyExists, "host port \(taken) is already published by another sandbox")
      }
      state.publishedPorts.formUnion(keys)
    }
  }

  func releasePorts(_ keys: [String]) {
    state.withLock { $0.publishedPorts.subtract(keys) }
  }

  private func ruleset() -> String {
    let gw = IPv4.format(gateway)
    let privateRanges = "0.0.0.0/8, 10.0.0.0/8, 100.64.0.0/10, 127.0.0.0/8, 169.254.0.0/16, 172.16.0.0/12, 192.0.0.0/24, 192.168.0.0/16, 198.18.0.0/15, 224.0.0.0/4, 240.0.0.0/4"
    return """
      table inet \(table) {
        set full { type ipv4_addr; }
        set dns { type ipv4_addr; }
        map allow { type ipv4_addr : verdict; }
        chain input {
          type filter hook input priority 0; policy accept;
          iifname "\(bridge)" ct state established,related accept
          iifname "\(bridge)" ip daddr \(gw) udp dport 53 accept
          iifname "\(bridge)" ip daddr @dns udp dport 53 accept
          iifname "\(bridge)" ip daddr @dns tcp dport 53 accept
          iifname "\(bridge)" ip saddr @full accept
          iifname "\(bridge)" ip saddr vmap @allow
          iifname "\(bridge)" drop
          ip daddr \(gw) drop
        }
        chain output {
          type filter hook output priority 0; policy accept;
          oifname "\(bridge)" ct state established,related accept
          oifname "\(bridge)" ct status dnat accept
          oifname "\(bridge)" drop
        }
        chain forward {
          type filter hook forward priority 0; policy accept;
          oifname "\(bridge)" ct state established,related accept
          oifname "\(bridge)" ct status dnat accept
          oifname "\(bridge)" drop
          iifname "\(bridge)" meta nfproto ipv6 drop
          iifname "\(bridge)" ip daddr @dns udp dport 53 accept
          iifname "\(bridge)" ip daddr @dns tcp dport 53 accept
          iifname "\(bridge)" ip saddr @full accept
          iifname "\(bridge)" ip saddr vmap @allow
          iifname "\(bridge)" ip daddr { \(privateRanges) } drop
          iifname "\(bridge)" accept
        }
      }
      table ip \(natTable) {
        map tcp_ports { type inet_service : ipv4_addr . inet_service; }
        map udp_ports { type inet_service : ipv4_addr . inet_service; }
        chain prerouting {
          type nat hook prerouting priority -100; policy accept;
          fib daddr type local dnat ip to tcp dport map @tcp_ports
          fib daddr type local dnat ip to udp dport map @udp_ports
        }
        chain output {
          type nat hook output priority -100; policy accept;
          fib daddr type local dnat ip to tcp dport map @tcp_ports
          fib daddr type local dnat ip to udp dport map @udp_ports
        }
        chain postrouting {
          type nat hook postrouting priority 100; policy accept;
          ip saddr \(subnet) oifname != "\(bridge)" masquerade
          oifname "\(bridge)" ip saddr 127.0.0.0/8 masquerade
        }
      }

      """
  }

  /// The next free address, or a refusal when all 253 are in use.
  func allocateAddress() throws -> UInt32 {
    try state.withLock { state in
      for host in UInt32(2)...254 {
        let address = (gateway & 0xffff_ff00) | host
        if state.used.insert(address).inserted { return address }
      }
      throw HopsError(.unavailable, "no free sandbox address on \(bridge) (253 networked sandboxes run)")
    }
  }

  func releaseAddress(_ address: UInt32) {
    _ = state.withLock { $0.used.remove(address) }
  }

  /// The resolvers a sandbox gets: the host's own when a sandbox can reach them
  /// (they are then let through the private-range block), else our forwarder on
  /// the gateway, relaying to the host's loopback resolver.
  func resolvers() throws -> (nameservers: [UInt32], search: [String]) {
    let host = HostResolvers.load()
    if !host.reachable.isEmpty {
      let new = state.withLock { Set(host.reachable).subtracting($0.allowedResolvers) }
      if !new.isEmpty {
        let elements = new.map(IPv4.format).joined(separator: ", ")
        try NFTables.run("add element inet \(table) dns { \(elements) }", what: "allow the DNS servers")
        state.withLock { $0.allowedResolvers.formUnion(new) }
      }
      return (host.reachable, host.search)
    }
    guard let upstream = host.loopback.first else { return ([], host.search) }
    try state.withLock { state in
      if state.forwarderUpstream != upstream {
        state.forwarder?.stop()
        state.forwarder = nil
        state.forwarderUpstream = nil
        state.forwarder = try DNSForwarder(listenOn: gateway, upstream: upstream)
        state.forwarderUpstream = upstream
      }
    }
    return ([gateway], host.search)
  }

  /// Removes everything this daemon made, and its lock.
  func teardown() {
    let (ready, forwarder) = state.withLock { ($0.ready, $0.forwarder) }
    forwarder?.stop()
    if ready {
      Self.removeRules(slot: slot)
      ForwardingGuard.releaseIfUnused()
    }
    state.withLock {
      $0.ready = false
      $0.allowedResolvers = []
      $0.forwarder = nil
      $0.forwarderUpstream = nil
    }
    close(lockFD)
  }

  func run(_ tool: String, _ arguments: [String], input: String? = nil, what: String) throws {
    let result: (status: Int32, output: String)
    do { result = try Subprocess.run(tool, arguments, input: input) } catch {
      throw HopsError.failed("cannot \(what): \(error)")
    }
    guard result.status == 0 else {
      throw HopsError.failed("cannot \(what): \(result.output.trimmed)")
    }
  }
}

/// `net.ipv4.ip_forward`, shared by every Hops daemon on the host. The first one
/// to need it records what it was (in /run/hops) and, if it was off, installs a
/// table that keeps the host from forwarding anything but sandbox traffic; the
/// last one to stop puts both back. A crash leaves the record, so the value is
/// never lost.
enum ForwardingGuard {
  static let record = HostNetwork.lockDirectory + "/ip_forward.original"
  static let table = "hops_forward_guard"

  static func enable() throws {
    if !FileManager.default.fileExists(atPath: record) {
      let original = ((try? readText("/proc/sys/net/ipv4/ip_forward")) ?? "0").trimmed
      try Data(original.utf8).write(to: URL(fileURLWithPath: record))
    }
    let original = ((try? readText(record)) ?? "1").trimmed
    if original != "1" {
      try NFTables.run("""
        table inet \(table) {
          chain forward {
            type filter hook forward priority 0; policy accept;
            iifname != "hops*" oifname != "hops*" drop
          }
        }

        """, what: "install the forwarding guard")
    }
    try writeText("/proc/sys/net/ipv4/ip_forward", "1")
  }

  /// When no Hops bridge is left, restores ip_forward and removes the guard.
  static func releaseIfUnused() {
    let bridges = (try? Subprocess.run("/usr/sbin/ip", ["-o", "link", "show", "type", "bridge"]).output) ?? ""
    guard !bridges.contains(": hops"), let original = try? readText(record) else { return }
    try? writeText("/proc/sys/net/ipv4/ip_forward", original.trimmed == "1" ? "1" : "0")
    NFTables.attempt("delete table inet \(table)")
    unlink(record)
  }
}
