import FoundationEssentials
import Glibc
import Testing

@testable import HopsOS

/// Copying trees entry by entry: what the reader emits, what the writer makes,
/// and the paths and links it refuses to go through.
@Suite struct FileTreeTests {
  let root: String

  init() throws {
    var template = Array("/tmp/hops-filetree-test-XXXXXX".utf8CString)
    root = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
  }

  func cleanup() { try? FileManager.default.removeItem(atPath: root) }

  func directory(_ path: String) throws -> Int32 {
    try syscall("open", path) { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
  }

  @Test func aTreeRoundTripsWithModesAndLinks() throws {
    defer { cleanup() }
    let source = root + "/src"
    try FileManager.default.createDirectory(atPath: source + "/sub", withIntermediateDirectories: true)
    try Data("hello\n".utf8).write(to: URL(fileURLWithPath: source + "/a"))
    try Data(repeating: 7, count: 200_000).write(to: URL(fileURLWithPath: source + "/sub/big"))
    chmod(source + "/a", 0o604)
    symlink("/etc/passwd", source + "/link")
    mkfifo(source + "/fifo", 0o600)

    let top = try directory(root)
    defer { FD.close(top) }
    let reader = FileTree.Reader(parent: top, name: "src")
    try FileManager.default.createDirectory(atPath: root + "/dst", withIntermediateDirectories: true)
    let destination = try directory(root + "/dst")
    defer { FD.close(destination) }
    let writer = FileTree.Writer(parent: destination, name: "copy")
    var paths: [String] = []
    while let item = try reader.next() {
      switch item {
      case .entry(let entry):
        paths.append(entry.path)
        try writer.begin(entry)
      case .data(let bytes): try writer.write(bytes)
      }
    }
    try writer.finish()
    #expect(paths.sorted() == ["", "a", "link", "sub", "sub/big"], "the FIFO is skipped")
    let copy = root + "/dst/copy"
    #expect(FileManager.default.contents(atPath: copy + "/a") == Data("hello\n".utf8))
    #expect(FileManager.default.contents(atPath: copy + "/sub/big")?.count == 200_000)
    var info = stat()
    lstat(copy + "/a", &info)
    #expect(info.st_mode & 0o7777 == 0o604)
    #expect(try FileManager.default.destinationOfSymbolicLink(atPath: copy + "/link") == "/etc/passwd")
    #expect(writer.entries == 5 && writer.bytes == 200_006)
  }

  @Test func entryPathsThatClimbOrAreAbsoluteAreRefused() throws {
    defer { cleanup() }
    for bad in ["../x", "a/../../x", "/etc/x", "a//b", "./a", "a/."] {
      #expect(throws: SyscallError.self) { try FileTree.validate(bad) }
    }
    try FileTree.validate("a/b/c")
  }

  @Test func theWriterNeverGoesThroughASymlink() throws {
    defer { cleanup() }
    let outside = root + "/outside"
    try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
    let parent = try directory(root)
    defer { FD.close(parent) }
    let writer = FileTree.Writer(parent: parent, name: "top")
    try writer.begin(FileTree.Entry(path: "", kind: .directory, mode: 0o755))
    // A stream that makes a link to the outside, then writes below it.
    try writer.begin(FileTree.Entry(path: "escape", kind: .symlink, mode: 0o777, linkTarget: outside))
    #expect(throws: SyscallError.self) {
      try writer.begin(FileTree.Entry(path: "escape/planted", kind: .file, mode: 0o644))
    }
    // A file entry onto the link replaces the link instead of writing through it.
    try writer.begin(FileTree.Entry(path: "escape", kind: .file, mode: 0o644))
    try writer.write(Array("inside".utf8))
    try writer.finish()
    #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty)
    var info = stat()
    lstat(root + "/top/escape", &info)
    #expect(info.st_mode & S_IFMT == S_IFREG)
  }

  @Test func kernelFilesystemsAreNotWalked() throws {
    let proc = try directory("/")
    defer { FD.close(proc) }
    let reader = FileTree.Reader(parent: proc, name: "proc")
    #expect(throws: SyscallError.self) { try reader.next() }
  }
}
