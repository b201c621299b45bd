import FoundationEssentials
import Glibc
import HopsPolicy

/// The host's DNS resolvers, from its resolv.conf (`$HOPS_RESOLV_CONF` names
/// another file, for tests and unusual hosts).
struct HostResolvers: Equatable {
  var nameservers: [UInt32]
  var search: [String]

  static func path() -> String {
    if let path = ProcessInfoEnvironment.value("HOPS_RESOLV_CONF"), FileManager.default.fileExists(atPath: path) { return path }
    return "/etc/resolv.conf"
  }

  static func load(from path: String = HostResolvers.path()) -> HostResolvers {
    let text = FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } ?? ""
    return parse(text)
  }

  static func parse(_ text: String) -> HostResolvers {
    var servers: [UInt32] = []
    var search: [String] = []
    for line in text.split(separator: "\n") {
      let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
      guard let first = words.first else { continue }
      if first == "nameserver", words.count >= 2, let address = IPv4.parse(String(words[1])) {
        servers.append(address)
      } else if first == "search" || first == "domain" {
        search = words.dropFirst().map(String.init)
      }
    }
    return HostResolvers(nameservers: servers, search: search)
  }

  /// Resolvers on the host's loopback (systemd-resolved's 127.0.0.53, a local
  /// dnsmasq) cannot be reached from a sandbox: those need Hops' forwarder.
  var loopback: [UInt32] { nameservers.filter { $0 >> 24 == 127 } }
  var reachable: [UInt32] { nameservers.filter { $0 >> 24 != 127 } }
}

enum ProcessInfoEnvironment {
  static func value(_ name: String) -> String? {
    guard let raw = getenv(name) else { return nil }
    let value = String(cString: raw)
    return value.isEmpty ? nil : value
  }
}
