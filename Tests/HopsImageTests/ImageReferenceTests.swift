import HopsCore
import Testing

@testable import HopsImage

@Suite struct ImageReferenceTests {
  @Test(arguments: [
    ("alpine", "docker.io/library/alpine:latest", "alpine:latest"),
    ("alpine:3.20", "docker.io/library/alpine:3.20", "alpine:3.20"),
    ("user/tool:1", "docker.io/user/tool:1", "user/tool:1"),
    ("ghcr.io/owner/tool:v2", "ghcr.io/owner/tool:v2", "ghcr.io/owner/tool:v2"),
    ("localhost:5000/team/app", "localhost:5000/team/app:latest", "localhost:5000/team/app:latest"),
    ("127.0.0.1:5000/x", "127.0.0.1:5000/x:latest", "127.0.0.1:5000/x:latest"),
  ])
  func parsesDockerConventions(text: String, full: String, short: String) throws {
    let reference = try ImageReference.parse(text)
    #expect(reference.description == full)
    #expect(reference.short == short)
  }

  @Test func digestsPinAndDropTheDefaultTag() throws {
    let digest = "sha256:" + String(repeating: "a", count: 64)
    let reference = try ImageReference.parse("ghcr.io/owner/tool@" + digest)
    #expect(reference.digest == digest && reference.tag == nil)
    #expect(reference.description == "ghcr.io/owner/tool@" + digest)
  }

  @Test(arguments: ["", "Alpine", "alpine@sha256:abc", "a//b", "alpine:", "with space", "alpine:bad/tag"])
  func refusesMalformedReferences(text: String) {
    #expect(throws: HopsError.self) { try ImageReference.parse(text) }
  }

  @Test func bearerChallengeParameters() {
    let parameters = RegistryClient.challengeParameters(
      #"realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull""#)
    #expect(parameters["realm"] == "https://auth.docker.io/token")
    #expect(parameters["service"] == "registry.docker.io")
    #expect(parameters["scope"] == "repository:library/alpine:pull")
  }
}
