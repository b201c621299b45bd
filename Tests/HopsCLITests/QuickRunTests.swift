import CFront
import Foundation
import HopsCore
import Testing

@testable import HopsCLI
@testable import HopsDirectRun

/// The `hops` front (CFront, in C) reads `hops run` without ArgumentParser: for
/// every command line it takes, the request it sends must say exactly what
/// ArgumentParser reads, and it must hand back every command line it does not
/// fully understand.
@Suite struct QuickRunTests {
  /// Command lines the front takes, each checked against ArgumentParser.
  static let taken: [[String]] = [
    ["run", "--", "/bin/true"],
    ["run", "/tmp", "--", "sh", "-c", "echo hi"],
    ["run", "--memory", "256M", "--cpus", "1", "/tmp", "--", "/bin/true"],
    ["run", "--memory=256M", "--cpus=0.5", "--", "/bin/true"],
    ["run", "--network", "loopback", "--allow-net", "10.0.0.0/8:80", "--allow-net=192.168.0.0/16", "--", "true"],
    ["run", "-e", "A=1", "--env", "B=2", "--env=C=3", "-w", "/", "--hostname", "box", "--", "env"],
    ["run", "--profile", "strict", "--timeout", "5s", "--max-processes", "50", "--keep", "--", "true"],
    ["run", "--config", policyFile, "--rootfs", "alpine", "--cpuset", "0-1", "--", "true"],
    ["run", "--workspace-mode", "overlay", "--name", "job-1", "-i", "--no-auto-start", ".", "--", "cat"],
    ["run", "--no-interactive", "-p", "8080:80", "--publish", "8443:443/tcp", "--", "true"],
    ["run", "--", "/bin/sh", "--memory", "not-ours"],
    // Texts JSON must escape, and text beyond ASCII.
    ["run", "-e", "A=\"quoted\" back\\slash\nnew\ttab\u{1}\u{7f} é ✓ 𝄞", "--hostname", "", "--", "echo", "ü", ""],
    ["run", "--max-processes=+7", "--", "true"],
  ]

  /// A policy file the front reads and sends as text (a profile of the policy tests).
  static let policyFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../HopsPolicyTests/Fixtures/valid/original-build.toml").standardized.path

  /// Command lines it hands back to ArgumentParser.
  static let handedBack: [[String]] = [
    ["run"],
    ["run", "/bin/true"],
    ["run", "--"],
    ["ps"],
    ["run", "-t", "--", "sh"],
    ["run", "-d", "--", "sleep", "1"],
    ["run", "-v", "--", "true"],
    ["run", "--verbose", "--", "true"],
    ["run", "--image", "alpine", "--", "true"],
    ["run", "--help", "--", "true"],
    ["run", "--memory", "--", "true"],
    ["run", "--memory", "1G", "--memory", "2G", "--", "true"],
    ["run", "--keep=yes", "--", "true"],
    ["run", "-eA=1", "--", "true"],
    ["run", "--max-processes", "many", "--", "true"],
    ["run", "one", "two", "--", "true"],
    ["run", "--unknown", "--", "true"],
    ["run", "--timeout", "-5", "--", "true"],
    ["run", "--env=", "--", "true"],
    ["run", "--memory=", "--", "true"],
  ]

  /// What the front makes of `arguments`: nil when it hands them back, else
  /// its request as the daemon reads it, and the switches only it looks at.
  static func front(_ arguments: [String]) throws -> (request: DirectRunRequest, interactive: Bool, noInteractive: Bool, noAutoStart: Bool)? {
    let texts = arguments.map { strdup($0) }
    defer { texts.forEach { free($0) } }
    var run = hops_quick_run()
    let parsed = texts.withUnsafeBufferPointer { hops_quick_run_parse(Int32(arguments.count), $0.baseAddress, &run) }
    guard parsed == 1 else { return nil }
    defer { hops_quick_run_free(&run) }
    var length = 0
    let json = try #require(hops_quick_run_request(&run, &length))
    defer { free(json) }
    let input = try DirectRunInput(json: Array(UnsafeRawBufferPointer(start: json, count: length)))
    guard case .request(let request) = input else { throw HopsError.failed("not a request: \(input)") }
    return (request, run.interactive != 0, run.no_interactive != 0, run.no_auto_start != 0)
  }

  @Test(arguments: taken) func sendsWhatArgumentParserReads(_ arguments: [String]) throws {
    let quick = try #require(try Self.front(arguments))
    let run = try Run.parse(Array(arguments.dropFirst()))
    #expect(quick.request.settings == run.sandbox.settings)
    #expect(quick.request.workspace == (try SandboxSettings.absoluteDirectory(run.path ?? ".")))
    #expect(quick.request.command == run.command)
    #expect(quick.request.name == run.name)
    #expect(quick.request.terminalType == getenv("TERM").map { String(cString: $0) })
    #expect(quick.request.policyFile == (try run.sandbox.settings.policyFile.map(PolicyFileText.read)))
    #expect(quick.interactive == run.interactive)
    #expect(quick.noInteractive == run.noInteractive)
    #expect(quick.noAutoStart == run.daemon.noAutoStart)
    #expect(!run.detach && !run.tty && !run.verbose)
  }

  /// Arguments that are not UTF-8 reach the daemon as Swift's String reads
  /// them (hops-cli's, through ArgumentParser): one U+FFFD per maximal subpart.
  @Test func replacesWhatIsNotUTF8AsSwiftDoes() throws {
    let bytes: [UInt8] = [0x61, 0xE2, 0x82, 0x62, 0xFF, 0xC0, 0xAF, 0xED, 0xA0, 0x80, 0xF0, 0x9F, 0x98, 0x63, 0xF4, 0x90, 0xE0, 0x80]
    let words: [String] = ["run", "--", "echo"]
    let texts: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [
      bytes.withUnsafeBufferPointer { buffer in
        let copy = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
        for (index, byte) in buffer.enumerated() { copy[index] = CChar(bitPattern: byte) }
        copy[bytes.count] = 0
        return copy
      }
    ]
    defer { texts.dropLast().forEach { free($0) }; texts.last??.deallocate() }
    var run = hops_quick_run()
    #expect(texts.withUnsafeBufferPointer { hops_quick_run_parse(Int32(texts.count), $0.baseAddress, &run) } == 1)
    defer { hops_quick_run_free(&run) }
    var length = 0
    let json = try #require(hops_quick_run_request(&run, &length))
    defer { free(json) }
    guard case .request(let request) = try DirectRunInput(json: Array(UnsafeRawBufferPointer(start: json, count: length))) else {
      Issue.record("not a request")
      return
    }
    #expect(request.command == ["echo", String(decoding: bytes, as: UTF8.self)])
  }

  @Test(arguments: handedBack) func handsBackWhatItDoesNotKnow(_ arguments: [String]) throws {
    #expect(try Self.front(arguments) == nil)
  }
}
