import FoundationEssentials
import Glibc
import HopsCore
import Testing

@testable import HopsImage

/// Builds small ustar archives in memory, so tests can craft hostile entries.
struct TarBuilder {
  var bytes: [UInt8] = []

  mutating func add(_ name: String, type: Character = "0", contents: String = "", link: String = "", mode: Int = 0o644) {
    var header = [UInt8](repeating: 0, count: 512)
    func put(_ text: String, _ offset: Int) { for (i, b) in text.utf8.enumerated() { header[offset + i] = b } }
    func octal(_ value: Int, _ offset: Int, _ width: Int) {
      put(String(repeating: "0", count: max(0, width - 1 - String(value, radix: 8).count)) + String(value, radix: 8), offset)
    }
    put(name, 0)
    octal(mode, 100, 8)
    octal(0, 108, 8)
    octal(0, 116, 8)
    octal(contents.utf8.count, 124, 12)
    octal(1_700_000_000, 136, 12)
    header[156] = type.asciiValue!
    put(link, 157)
    put("ustar", 257)
    put("00", 263)
    for i in 148..<156 { header[i] = 32 }
    let sum = header.reduce(0) { $0 + Int($1) }
    octal(sum, 148, 7)
    bytes += header
    let data = Array(contents.utf8)
    bytes += data
    bytes += [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
  }

  func write(to path: String) throws {
    try Data(bytes + [UInt8](repeating: 0, count: 1024)).write(to: URL(fileURLWithPath: path))
  }
}

@Suite struct TarExtractorTests {
  let dir: String

  init() throws {
    var template = Array("/tmp/hops-tar-test-XXXXXX".utf8CString)
    dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    mkdir(dir + "/out", 0o755)
  }

  func cleanup() { _ = try? FileManager.default.removeItem(atPath: dir) }

  func read(_ path: String) -> String? {
    FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
  }

  @Test func extractsFilesDirectoriesAndLinks() throws {
    defer { cleanup() }
    var tar = TarBuilder()
    tar.add("./etc/", type: "5", mode: 0o755)
    tar.add("./etc/hostname", contents: "box\n")
    tar.add("./bin/tool", contents: "#!/bin/sh\n", mode: 0o755)
    tar.add("./bin/alias", type: "2", link: "tool")
    tar.add("./bin/hard", type: "1", link: "./bin/tool")
    try tar.write(to: dir + "/a.tar")
    let summary = try TarExtractor().extract(archive: dir + "/a.tar", into: dir + "/out")
    #expect(summary.entries == 5)
    #expect(read(dir + "/out/etc/hostname") == "box\n")
    #expect(access(dir + "/out/bin/tool", X_OK) == 0)
    #expect(read(dir + "/out/bin/alias") == "#!/bin/sh\n")
    var a = stat(), b = stat()
    stat(dir + "/out/bin/tool", &a)
    stat(dir + "/out/bin/hard", &b)
    #expect(a.st_ino == b.st_ino)
  }

  @Test func dotDotEntriesAreRefused() throws {
    defer { cleanup() }
    var tar = TarBuilder()
    tar.add("../escaped", contents: "x")
    try tar.write(to: dir + "/evil.tar")
    #expect(throws: HopsError.self) { try TarExtractor().extract(archive: dir + "/evil.tar", into: dir + "/out") }
    #expect(!FileManager.default.fileExists(atPath: dir + "/escaped"))
  }

  @Test func absolutePathsLandInsideTheRoot() throws {
    defer { cleanup() }
    var tar = TarBuilder()
    tar.add("/abs-file", contents: "inside")
    try tar.write(to: dir + "/abs.tar")
    _ = try TarExtractor().extract(archive: dir + "/abs.tar", into: dir + "/out")
    #expect(read(dir + "/out/abs-file") == "inside")
  }

  @Test func symlinkPlantedByAnEarlierEntryCannotRedirectWrites() throws {
    defer { cleanup() }
    mkdir(dir + "/outside", 0o755)
    var tar = TarBuilder()
    tar.add("link", type: "2", link: dir + "/outside")
    tar.add("link/pwned", contents: "gotcha")
    tar.add("rel", type: "2", link: "../../../../../../../../" + dir + "/outside")
    tar.add("rel/pwned2", contents: "gotcha")
    try tar.write(to: dir + "/symlink.tar")
    // The links resolve inside the rootfs, where their targets do not exist: the
    // import fails rather than follow them out.
    #expect(throws: HopsError.self) { try TarExtractor().extract(archive: dir + "/symlink.tar", into: dir + "/out") }
    #expect(!FileManager.default.fileExists(atPath: dir + "/outside/pwned"))
    #expect(!FileManager.default.fileExists(atPath: dir + "/outside/pwned2"))
  }

  @Test func symlinkToAnExistingDirectoryIsFollowedInsideTheRoot() throws {
    defer { cleanup() }
    mkdir(dir + "/outside", 0o755)
    // Inside the rootfs, the link's absolute target names the rootfs's own copy.
    mkdir(dir + "/out/tmp", 0o755)
    try FileManager.default.createDirectory(atPath: dir + "/out" + dir + "/outside", withIntermediateDirectories: true)
    var tar = TarBuilder()
    tar.add("link", type: "2", link: dir + "/outside")
    tar.add("link/pwned", contents: "gotcha")
    try tar.write(to: dir + "/symlink2.tar")
    _ = try TarExtractor().extract(archive: dir + "/symlink2.tar", into: dir + "/out")
    #expect(!FileManager.default.fileExists(atPath: dir + "/outside/pwned"))
    #expect(read(dir + "/out" + dir + "/outside/pwned") == "gotcha")
  }

  @Test func hardLinkCannotPointOutside() throws {
    defer { cleanup() }
    var tar = TarBuilder()
    tar.add("stolen", type: "1", link: "../../../etc/passwd")
    try tar.write(to: dir + "/hard.tar")
    #expect(throws: HopsError.self) { try TarExtractor().extract(archive: dir + "/hard.tar", into: dir + "/out") }
  }

  @Test func notATarIsACleanError() throws {
    defer { cleanup() }
    try Data("this is not a tar archive at all".utf8 + [UInt8](repeating: 65, count: 600)).write(to: URL(fileURLWithPath: dir + "/bad.tar"))
    #expect(throws: HopsError.self) { try TarExtractor().extract(archive: dir + "/bad.tar", into: dir + "/out") }
  }

  @Test(arguments: ["2 \n", "1 x", "99 path=x\n", "10 uid=-1\n", "15 mtime=1e300\n", "14 path=..\u{0}/x\n"])
  func hostilePaxHeadersAreErrorsNotCrashes(record: String) throws {
    defer { cleanup() }
    var tar = TarBuilder()
    tar.add("pax", type: "x", contents: record)
    tar.add("file", contents: "x")
    try tar.write(to: dir + "/pax.tar")
    do {
      _ = try TarExtractor().extract(archive: dir + "/pax.tar", into: dir + "/out")
    } catch is HopsError {}
    // Nothing may land beside the target directory.
    #expect(!FileManager.default.fileExists(atPath: dir + "/x"))
    #expect(!FileManager.default.fileExists(atPath: dir + "/file"))
  }

  @Test func nulInAPathIsRefused() throws {
    defer { cleanup() }
    var tar = TarBuilder()
    tar.add("pax", type: "x", contents: "16 path=..\u{0}/esc\n")
    tar.add("file", contents: "x")
    try tar.write(to: dir + "/nul.tar")
    #expect(throws: HopsError.self) { try TarExtractor().extract(archive: dir + "/nul.tar", into: dir + "/out") }
  }

  @Test func octalAndBase256Numbers() throws {
    var header = [UInt8](repeating: 0, count: 512)
    for (i, b) in "0000755 ".utf8.enumerated() { header[100 + i] = b }
    #expect(try TarReader.number(header, 100, 8) == 0o755)
    header[124] = 0x80
    header[135] = 0x10
    #expect(try TarReader.number(header, 124, 12) == 16)
  }
}
