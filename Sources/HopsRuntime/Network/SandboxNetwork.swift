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
    let links = """
      link add \(vethName) type veth peer name eth0 netns \(initPid)
      link set \(vethName) master \(host.bridge)
      link set dev \(vethName) type bridge_slave isolated on
      link set \(vethName) up
      """
    let ip = IPv4.format(address)
    var script = "add chain inet \(host.table) \(chain)\n"
    for allowance in allowNet {
      let port = allowance.port.map { " th dport \($0)" } ?? ""
      script += "add rule inet \(host.table) \(chain) ip daddr \(allowance.cidr)\(port) accept\n"
    }
    script += "add element inet \(host.table) allow { \(ip) : jump \(chain) }\n"
    if mode == .full { script += "add element inet \(host.table) full { \(ip) }\n" }
    for mapping in publish {
      script += "add element ip \(host.natTable) \(mapping.proto.rawValue)_ports { \(mapping.hostPort) : \(ip) . \(mapping.sandboxPort) }\n"
    }
    // The veth and the rules do not depend on each other (the rules match the
    // address): one `ip` and one `nft` run at once.
    let host = self.host
    let rules = script
    let rulesFailure = Mutex<HopsError?>(nil)
    let rulesDone = CountingSemaphore(value: 0)
    Threads.detach {
      do { try host.run("/usr/sbin/nft", ["-f", "-"], input: rules, what: "install the sandbox's network rules") } catch {
        rulesFailure.withLock { $0 = error as? HopsError ?? HopsError.failed("\(error)") }
      }
      rulesDone.signal()
    }
    var failure: (any Error)?
    do { try host.run("/usr/sbin/ip", ["-batch", "-"], input: links, what: "connect the sandbox to \(host.bridge)") } catch {
      failure = error
    }
    rulesDone.wait()
    if let error = failure ?? rulesFailure.withLock({ $0 }) {
      detach()
      throw error
    }
  }

  /// Removes the rules and gives the address back. Safe to call more than once.
  func detach() {
    let first = detached.withLock { done in
      defer { done = true }
      return !done
    }
    guard first else { return }
    let ip = IPv4.format(address)
    var script = "delete element inet \(host.table) allow { \(ip) }\n"
    if mode == .full { script += "delete element inet \(host.table) full { \(ip) }\n" }
    for mapping in publish {
      script += "delete element ip \(host.natTable) \(mapping.proto.rawValue)_ports { \(mapping.hostPort) }\n"
    }
    script += "delete chain inet \(host.table) \(chain)\n"
    // One transaction, one nft (before the run's exit is told when it has
    // published ports). Only if it fails (something already gone) each line
    // goes on its own, so that one missing element does not keep the others.
    if (try? Subprocess.run("/usr/sbin/nft", ["-f", "-"], input: script))?.status != 0 {
      for line in script.split(separator: "\n") {
        _ = try? Subprocess.run("/usr/sbin/nft", [String(line)])
      }
    }
    // The veth pair goes with the sandbox's network namespace; only one left
    // behind (the namespace still held somewhere) needs deleting.
    if access("/sys/class/net/\(vethName)", F_OK) == 0 {
      _ = try? Subprocess.run("/usr/sbin/ip", ["link", "delete", vethName])
    }
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
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    chmod(path, 0o644)
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
