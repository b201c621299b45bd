import HopsPolicy
import Testing

@testable import HopsRuntime

/// A sandbox's own nftables rules, as the daemon adds and deletes them.
@Suite struct SandboxNetworkRulesTests {
  func rules(
    adding: Bool, mode: NetworkMode, allow: [String] = [], publish: [String] = []
  ) throws -> String? {
    SandboxNetwork.rules(
      adding: adding, table: "hops3", natTable: "hops3_nat", chain: "sb-abc", address: "10.219.3.7", mode: mode,
      allowNet: try allow.map(NetworkAllowance.parse), publish: try publish.map(PortMapping.parse))
  }

  @Test func outboundWithNothingAllowedHasNoRulesOfItsOwn() throws {
    #expect(try rules(adding: true, mode: .outbound) == nil)
    #expect(try rules(adding: false, mode: .outbound) == nil)
  }

  @Test func allowedDestinationsGetAChainTheAddressJumpsTo() throws {
    let added = try rules(adding: true, mode: .outbound, allow: ["192.168.1.0/24:443", "10.0.0.0/8"])
    #expect(added == """
      add chain inet hops3 sb-abc
      add rule inet hops3 sb-abc ip daddr 192.168.1.0/24 th dport 443 accept
      add rule inet hops3 sb-abc ip daddr 10.0.0.0/8 accept
      add element inet hops3 allow { 10.219.3.7 : jump sb-abc }

      """)
    #expect(try rules(adding: false, mode: .outbound, allow: ["10.0.0.0/8"]) == """
      delete element inet hops3 allow { 10.219.3.7 }
      delete chain inet hops3 sb-abc

      """)
  }

  @Test func fullAccessAndPublishedPortsAreElements() throws {
    #expect(try rules(adding: true, mode: .full, publish: ["8080:80", "5353:53/udp"]) == """
      add element inet hops3 full { 10.219.3.7 }
      add element ip hops3_nat tcp_ports { 8080 : 10.219.3.7 . 80 }
      add element ip hops3_nat udp_ports { 5353 : 10.219.3.7 . 53 }

      """)
    #expect(try rules(adding: false, mode: .full, publish: ["8080:80"]) == """
      delete element inet hops3 full { 10.219.3.7 }
      delete element ip hops3_nat tcp_ports { 8080 }

      """)
  }
}
