import FoundationEssentials
import Glibc
import Testing

@testable import HopsOS

/// Paths resolved inside a tree that a sandbox controls (PathsInRoot) and host
/// paths that must not go through symlinks (HostPaths), against real trees
/// with hostile links.
@Suite struct PathResolutionTests {
  let base: String

  init() throws {
    var template = Array("/tmp/hops-paths-test-XXXXXX".utf8CString)
    base = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    let root = base + "/root"
    try FileManager.default.createDirectory(atPath: root + "/etc", withIntermediateDirectories: true)
    try Data("inside\n".utf8).write(to: URL(fileURLWithPath: root + "/etc/hostname"))
    symlink("/etc", root + "/absolute")
    symlink("../../../../../../etc", root + "/climbing")
    symlink("/proc/self/root/etc", root + "/magic")
  }

  func cleanup() { try? FileManager.default.removeItem(atPath: base) }

  func contents(_ fd: Int32) -> String {
    defer { FD.close(fd) }
    return String(decoding: (try? FD.read(fd, max: 100)) ?? [], as: UTF8.self)
  }

  @Test func linksResolveInsideTheRoot() throws {
    defer { cleanup() }
    let root = try PathsInRoot.openRoot(base + "/root")
    defer { FD.close(root) }
    for path in ["/etc/hostname", "absolute/hostname", "climbing/hostname", "../../etc/hostname"] {
      #expect(contents(try PathsInRoot.open(root, path, flags: O_RDONLY)) == "inside\n", "\(path)")
    }
    // A magic link (/proc/self/root) could lead anywhere: refused.
    #expect(throws: SyscallError.self) { try PathsInRoot.open(root, "magic/hostname", flags: O_RDONLY) }
  }

  @Test func hostPathsRefuseEverySymlink() throws {
    defer { cleanup() }
    FD.close(try HostPaths.open(base + "/root/etc"))
    for path in [base + "/root/absolute", base + "/root/absolute/hostname", base + "/root/climbing"] {
      do {
        FD.close(try HostPaths.open(path))
        Issue.record("\(path) was opened through a symlink")
      } catch {
        #expect(error.errno == ELOOP)
      }
    }
    #expect(throws: SyscallError.self) { try HostPaths.check(base + "/missing") }
  }
}
