import HopsCore

/// `--allow-net CIDR[:PORT]`: a destination opened explicitly for a sandbox.
public struct NetworkAllowance: Sendable, Equatable, CustomStringConvertible {
  public var address: UInt32
  public var prefixLength: Int
  public var port: UInt16?

  public var description: String {
    "\(IPv4.format(address))/\(prefixLength)" + (port.map { ":\($0)" } ?? "")
  }

  public var cidr: String { "\(IPv4.format(address))/\(prefixLength)" }

  public static func parse(_ text: String) throws -> NetworkAllowance {
    var rest = Substring(text)
    var port: UInt16?
    if let colon = rest.lastIndex(of: ":") {
      guard let value = UInt16(rest[rest.index(after: colon)...]), value > 0 else {
        throw HopsError.invalid("invalid port in --allow-net '\(text)'", hint: "write CIDR or CIDR:PORT, e.g. 10.0.0.0/8:443")
      }
      port = value
      rest = rest[..<colon]
    }
    let parts = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
    guard let first = parts.first, let address = IPv4.parse(String(first)) else {
      throw HopsError.invalid("invalid address in --allow-net '\(text)'", hint: "IPv4 only: write e.g. 192.168.1.0/24 or 192.168.1.10:8080")
    }
    let prefix = parts.count == 2 ? Int(parts[1]) : 32
    guard let prefix, (0...32).contains(prefix) else {
      throw HopsError.invalid("invalid prefix length in --allow-net '\(text)'")
    }
    let mask: UInt32 = prefix == 0 ? 0 : ~UInt32(0) << (32 - prefix)
    return NetworkAllowance(address: address & mask, prefixLength: prefix, port: port)
  }
}

/// `-p HOSTPORT:SANDBOXPORT[/tcp|udp]`: a port of the host forwarded into the sandbox.
public struct PortMapping: Sendable, Equatable, CustomStringConvertible {
  public enum Proto: String, Sendable { case tcp, udp }
  public var hostPort: UInt16
  public var sandboxPort: UInt16
  public var proto: Proto

  public var description: String { "\(hostPort):\(sandboxPort)/\(proto.rawValue)" }

  public static func parse(_ text: String) throws -> PortMapping {
    var body = Substring(text)
    var proto = Proto.tcp
    if let slash = body.firstIndex(of: "/") {
      guard let parsed = Proto(rawValue: String(body[body.index(after: slash)...]).lowercased()) else {
        throw HopsError.invalid("invalid protocol in -p '\(text)'", hint: "use /tcp or /udp")
      }
      proto = parsed
      body = body[..<slash]
    }
    let ports = body.split(separator: ":", omittingEmptySubsequences: false)
    guard ports.count == 2, let host = UInt16(ports[0]), let inside = UInt16(ports[1]), host > 0, inside > 0 else {
      throw HopsError.invalid("invalid -p '\(text)'", hint: "write HOSTPORT:SANDBOXPORT, e.g. 8080:80 or 5353:53/udp")
    }
    return PortMapping(hostPort: host, sandboxPort: inside, proto: proto)
  }
}

/// Dotted-quad IPv4 addresses as host-order integers.
public enum IPv4 {
  public static func parse(_ text: String) -> UInt32? {
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 4 else { return nil }
    var value: UInt32 = 0
    for part in parts {
      guard let byte = UInt8(part), part.count <= 3 else { return nil }
      value = value << 8 | UInt32(byte)
    }
    return value
  }

  public static func format(_ value: UInt32) -> String {
    "\(value >> 24).\(value >> 16 & 0xff).\(value >> 8 & 0xff).\(value & 0xff)"
  }
}
