import FoundationEssentials
import Glibc
import HopsCore
import HopsOS

/// A minimal rootfs made from the host's static BusyBox (Debian's busybox-static):
/// the binary, a symlink per applet, and the few files in /etc that programs
/// expect. Used as the default rootfs when no Alpine tarball is at hand.
public struct BusyboxRootfs {
  public let busybox: String

  public static let defaultBinary = "/bin/busybox"

  public init(busybox: String = BusyboxRootfs.defaultBinary) { self.busybox = busybox }

  public func build(into root: String) throws {
    guard access(busybox, X_OK) == 0 else {
      throw HopsError(.unavailable, "\(busybox) not found", hint: "install it with 'apt-get install busybox-static'")
    }
    guard try Self.isStaticELF(busybox) else {
      throw HopsError(
        .unavailable, "\(busybox) is dynamically linked and cannot run in a rootfs without libc",
        hint: "install the static build with 'apt-get install busybox-static'")
    }
    for dir in ["bin", "sbin", "usr/bin", "usr/sbin", "usr/local/bin", "etc", "root", "tmp", "proc", "sys",
                "dev", "workspace", "home", "var/tmp", "run", "mnt", "opt"] {
      try FileManager.default.createDirectory(atPath: root + "/" + dir, withIntermediateDirectories: true)
    }
    chmod(root + "/root", 0o700)
    chmod(root + "/tmp", 0o1777)
    chmod(root + "/var/tmp", 0o1777)

    try FileManager.default.copyItem(atPath: busybox, toPath: root + "/bin/busybox")
    chmod(root + "/bin/busybox", 0o755)

    let listing: (status: Int32, output: String)
    do { listing = try Subprocess.run(busybox, ["--list-full"]) } catch {
      throw HopsError.failed("cannot run \(busybox): \(error)")
    }
    guard listing.status == 0 else { throw HopsError.failed("\(busybox) --list-full failed: \(listing.output)") }
    for applet in listing.output.split(separator: "\n") {
      let relative = applet.trimmed
      guard !relative.isEmpty, !relative.contains(".."), relative != "bin/busybox" else { continue }
      let link = root + "/" + relative
      let dir = String(link[..<link.lastIndex(of: "/")!])
      try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
      if symlink("/bin/busybox", link) != 0 && errno != EEXIST {
        throw HopsError.failed("cannot create \(link): \(errnoString(errno))")
      }
    }

    let files: [(String, String)] = [
      ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"),
      ("etc/group", "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n"),
      ("etc/hosts", "127.0.0.1\tlocalhost hops\n::1\tlocalhost ip6-localhost ip6-loopback\n"),
      ("etc/hostname", "hops\n"),
      // The network is disabled by default; networked modes write their own.
      ("etc/resolv.conf", "# no resolvers: this sandbox has no network\n"),
      ("etc/os-release", "NAME=\"Hops BusyBox\"\nID=hops-busybox\nPRETTY_NAME=\"Hops BusyBox rootfs\"\n"),
    ]
    for (path, text) in files {
      try Data(text.utf8).write(to: URL(fileURLWithPath: root + "/" + path))
      chmod(root + "/" + path, 0o644)
    }
  }

  /// True when the ELF file has no PT_INTERP program header (no dynamic loader).
  static func isStaticELF(_ path: String) throws -> Bool {
    guard let data = FileManager.default.contents(atPath: path), data.count > 64,
      data.prefix(4) == Data([0x7f, 0x45, 0x4c, 0x46]), data[4] == 2  // 64-bit
    else { return false }
    func read<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
      data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
    }
    let phoff = Int(read(0x20, UInt64.self))
    let phentsize = Int(read(0x36, UInt16.self))
    let phnum = Int(read(0x38, UInt16.self))
    for i in 0..<phnum {
      let offset = phoff + i * phentsize
      guard offset + 4 <= data.count else { return false }
      if read(offset, UInt32.self) == 3 { return false }  // PT_INTERP
    }
    return true
  }
}
