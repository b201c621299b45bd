import FoundationEssentials
import Glibc
import HopsCore
import HopsOS
import Testing

@testable import HopsRuntime

/// Where `hops cp` reads and writes inside a sandbox's root.
@Suite struct SandboxPathsTests {
  let base: String
  let root: Int32

  init() throws {
    var template = Array("/tmp/hops-cp-paths-XXXXXX".utf8CString)
    base = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    try FileManager.default.createDirectory(atPath: base + "/tmp/dir", withIntermediateDirectories: true)
    try Data("f\n".utf8).write(to: URL(fileURLWithPath: base + "/tmp/file"))
    symlink("/", base + "/tmp/to-root")
    root = try PathsInRoot.openRoot(base)
  }

  func cleanup() {
    FD.close(root)
    try? FileManager.default.removeItem(atPath: base)
  }

  @Test func aDirectoryDestinationTakesTheName() throws {
    defer { cleanup() }
    let (parent, name, shown) = try SandboxPaths.destination(root: root, path: "/tmp/dir", base: "/", name: "x")
    FD.close(parent)
    #expect(name == "x" && shown == "/tmp/dir/x")
    let (other, renamed, _) = try SandboxPaths.destination(root: root, path: "/tmp/dir/new-name", base: "/", name: "x")
    FD.close(other)
    #expect(renamed == "new-name")
    let (relative, _, at) = try SandboxPaths.destination(root: root, path: "dir", base: "/tmp", name: "x")
    FD.close(relative)
    #expect(at == "/tmp/dir/x")
    #expect(throws: HopsError.self) { try SandboxPaths.destination(root: root, path: "/nowhere/", base: "/", name: "x") }
    #expect(throws: HopsError.self) { try SandboxPaths.destination(root: root, path: "/tmp/a\u{0}b", base: "/", name: "x") }
  }

  @Test func aSourceIsNamedNotFollowed() throws {
    defer { cleanup() }
    let (parent, name) = try SandboxPaths.source(root: root, path: "/tmp/to-root", base: "/")
    FD.close(parent)
    #expect(name == "to-root")
    // Through the link, resolution stays in the root: /tmp/to-root/tmp/file is /tmp/file.
    let (inner, file) = try SandboxPaths.source(root: root, path: "/tmp/to-root/tmp/file", base: "/")
    FD.close(inner)
    #expect(file == "file")
    #expect(throws: HopsError.self) { try SandboxPaths.source(root: root, path: "/", base: "/") }
    #expect(throws: HopsError.self) { try SandboxPaths.source(root: root, path: "/tmp/missing", base: "/") }
  }
}
