import FoundationEssentials
import Glibc
import HopsCore
import HopsInit
import HopsOS
import HopsPolicy
import Synchronization

/// One sandbox's place on the host network (outbound and full): its address, its
/// veth on the bridge, its rules (allowed destinations, full access, published
/// ports) and its resolv.conf. Attached after hops-init is spawned (the veth's
/// other end is created directly in its network namespace) and detached when
/// the sandbox ends; the veth goes with the namespace by itself.
final class SandboxNetwork: Sendable {
  let host: HostNetwork
  let id: String
  let address: UInt32
  let mode: NetworkMode
  let allowNet: [NetworkAllowance]
  let publish: [PortMapping]
  var publishesPorts: Bool { !publish.isEmpty }
  /// detach() runs once, whoever calls it first: the address and ports must not
  /// be given back twice (another sandbox may hold them by then).
  private let detached = Mutex(false)

  init(host: HostNetwork, id: String, address: UInt32, mode: NetworkMode, allowNet: [NetworkAllowance], publish: [PortMapping]) {
    self.host = host
    self.id = id
    self.address = address
    self.mode = mode
    self.allowNet = allowNet
    self.publish = publish
  }

  var portKeys: [String] { publish.map { "\($0.hostPort)/\($0.proto.rawValue)" } }

  var vethName: String { "\(host.bridge)-\(id.prefix(8))" }
  var chain: String { "sb-\(id)" }

  /// Reserves an address and checks the published ports before anything starts.
  static func reserve(host: HostNetwork, id: String, policy: Policy) throws -> SandboxNetwork {
    try host.prepare()
    for mapping in policy.publish where !Self.hostPortIsFree(mapping) {
      throw HopsError(
        .alreadyExists, "host port \(mapping.hostPort)/\(mapping.proto.rawValue) is already in use",
        hint: "publish on another host port: -p OTHER:\(mapping.sandboxPort)")
    }
    let ports = policy.publish.map { "\($0.hostPort)/\($0.proto.rawValue)" }
    try host.reservePorts(ports)
    let address: UInt32
    do { address = try host.allocateAddress() } catch {
      host.releasePorts(ports)
      throw error
    }
    return SandboxNetwork(
      host: host, id: id, address: address, mode: policy.network, allowNet: policy.allowNet, publish: policy.publish)
  }

  /// The plan's network part: eth0 with our address, default route via the bridge.
  var plan: PlanNetwork {
    PlanNetwork(interface: "eth0", address: address, prefixLength: 24, gateway: host.gateway)
  }

  /// Creates the veth into hops-init's network namespace and installs the rules.
  func attach(initPid: pid_t) throws {
    do {
      // Both in this process (rtnetlink, libnftables), where running `ip` and
      // `nft` took about 4 and 3 ms.
      try HostLinks.createVeth(hostName: vethName, peerName: "eth0", peerPid: initPid, bridge: host.bridge)
      if let script = rules(adding: true) { try NFTables.run(script, what: "install the sandbox's network rules") }
    } catch {
      detach()
      throw error
    }
  }

  func rules(adding: Bool) -> String? {
    Self.rules(
      adding: adding, table: host.table, natTable: host.natTable, chain: chain, address: IPv4.format(address), mode: mode,
      allowNet: allowNet, publish: publish)
  }

  /// A sandbox's own rules, added or deleted as one script; nil when it has
  /// none. A sandbox in the outbound mode with nothing allowed beyond it needs
  /// none: the host's chains treat an address without an `allow` entry as one
  /// whose chain is empty (public destinations only). That an address has no
  /// entry left from an earlier sandbox is `detach`'s to ensure.
  static func rules(
    adding: Bool, table: String, natTable: String, chain: String, address ip: String, mode: NetworkMode,
    allowNet: [NetworkAllowance], publish: [PortMapping]
  ) -> String? {
    var lines: [String] = []
    if !allowNet.isEmpty {
      if adding {
        lines.append("add chain inet \(table) \(chain)")
        for allowance in allowNet {
          let port = allowance.port.map { " th dport \($0)" } ?? ""
          lines.append("add rule inet \(table) \(chain) ip daddr \(allowance.cidr)\(port) accept")
        }
        lines.append("add element inet \(table) allow { \(ip) : jump \(chain) }")
      } else {
        lines.append("delete element inet \(table) allow { \(ip) }")
      }
    }
    if mode == .full { lines.append("\(adding ? "add" : "delete") element inet \(table) full { \(ip) }") }
    for mapping in publish {
      let key = "\(mapping.hostPort)" + (adding ? " : \(ip) . \(mapping.sandboxPort)" : "")
      lines.append("\(adding ? "add" : "delete") element ip \(natTable) \(mapping.proto.rawValue)_ports { \(key) }")
    }
    if !adding && !allowNet.isEmpty { lines.append("delete chain inet \(table) \(chain)") }
    return lines.isEmpty ? nil : lines.joined(separator: "\n") + "\n"
  }

  /// Removes the rules and gives the address back. Safe to call more than once.
  func detach() {
    let first = detached.withLock { done in
      defer { done = true }
      return !done
    }
    guard first else { return }
    // One transaction (before the run's exit is told when it has published
    // ports). Only if it fails (something already gone) each line goes on its
    // own, so that one missing element does not keep the others.
    var leftover = false
    if let script = rules(adding: false), !NFTables.attempt(script) {
      for line in script.split(separator: "\n") where !NFTables.attempt(String(line)) {
        // Gone already, or still there? An element left behind would hand
        // this sandbox's access (its allowed destinations, full access, a
        // published port) to the next sandbox given its address or port.
        if line.hasPrefix("delete element") { leftover = leftover || NFTables.attempt("get" + line.dropFirst("delete".count)) }
      }
    }
    // The veth pair goes with the sandbox's network namespace; only one left
    // behind (the namespace still held somewhere) needs deleting.
    if access("/sys/class/net/\(vethName)", F_OK) == 0 { try? HostLinks.delete(vethName) }
    // An address or port whose entries could not be removed is never given
    // out again by this daemon (the next one starts from empty tables).
    guard !leftover else { return }
    host.releaseAddress(address)
    host.releasePorts(portKeys)
  }

  /// /etc/resolv.conf for the sandbox, written into its directory and mounted
  /// read-only over the rootfs's own.
  func writeResolvConf(in directory: String) throws -> PlanMount {
    let (servers, search) = try host.resolvers()
    var text = "# written by hops for this sandbox\n"
    if !search.isEmpty { text += "search \(search.joined(separator: " "))\n" }
    for server in servers { text += "nameserver \(IPv4.format(server))\n" }
    let path = directory + "/resolv.conf"
    // Plain open and write: Foundation's Data.write syncs the file to disk
    // (1.6 ms here), for a file that goes with the sandbox.
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw HopsError.failed("cannot write \(path): \(errnoString(errno))") }
    defer { close(fd) }
    do { try FD.writeAll(fd, Array(text.utf8)) } catch { throw HopsError.failed("cannot write \(path): \(error)") }
    fchmod(fd, 0o644)
    return PlanMount(kind: .bind, source: path, destination: "/etc/resolv.conf", readOnly: true)
  }

  /// A port someone already listens on would be silently stolen by our DNAT:
  /// refuse instead. (Binding tells, and closes again at once.)
  static func hostPortIsFree(_ mapping: PortMapping) -> Bool {
    let type = mapping.proto == .tcp ? SOCK_STREAM : SOCK_DGRAM
    let fd = socket(AF_INET, Int32(type.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = mapping.hostPort.bigEndian
    address.sin_addr.s_addr = 0
    return withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
  }
}
