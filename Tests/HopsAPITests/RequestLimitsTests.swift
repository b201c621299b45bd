import HopsCore
import HopsPolicy
import Testing

@testable import HopsAPI

/// What a request may carry, checked before the daemon acts on it.
@Suite struct RequestLimitsTests {
  @Test func nulBytesAreRefusedWhereverTheyHide() {
    var request = Hops_V1_RunRequest.with { $0.command = ["/bin/true"] }
    #expect(throws: Never.self) { try RequestLimits.check(request) }
    request.command = ["/bin/cat", "/etc/passwd\u{0}ignored"]
    #expect(throws: HopsError.self) { try RequestLimits.check(request) }
    request.command = ["/bin/true"]
    request.environment = [.with { $0.name = "A"; $0.value = "b\u{0}c" }]
    #expect(throws: HopsError.self) { try RequestLimits.check(request) }
    request.environment = []
    request.allowedPaths = ["/srv\u{0}/x"]
    #expect(throws: HopsError.self) { try RequestLimits.check(request) }
    #expect(throws: HopsError.self) { try RequestLimits.check(Hops_V1_ExecRequest.with { $0.command = ["sh"]; $0.user = "root\u{0}" }) }
  }

  @Test func sizesAndCountsAreBounded() {
    #expect(throws: HopsError.self) { try RequestLimits.checkCommand(Array(repeating: "x", count: RequestLimits.maxArguments + 1)) }
    #expect(throws: HopsError.self) { try RequestLimits.checkCommand([String(repeating: "x", count: RequestLimits.maxCommandBytes + 1)]) }
    let request = Hops_V1_RunRequest.with {
      $0.command = ["true"]
      $0.mounts = Array(repeating: .with { $0.type = "tmpfs"; $0.destination = "/x" }, count: RequestLimits.maxMounts + 1)
    }
    #expect(throws: HopsError.self) { try RequestLimits.check(request) }
    #expect(throws: HopsError.self) { try RequestLimits.checkText(String(repeating: "a", count: 5000), "a path", maxBytes: 4096) }
  }

  @Test func thePolicyMappingChecksFirst() {
    let request = Hops_V1_RunRequest.with { $0.command = ["a\u{0}"] }
    #expect(throws: HopsError.self) { try Policy(request: request) }
  }
}
