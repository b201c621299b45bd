import ArgumentParser
import CHostNetwork
import FoundationEssentials
import Glibc
import HopsCore
import HopsOS

/// `hops doctor`: checks the host and says what to fix.
struct Doctor: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "doctor",
    abstract: "Check this host for what Hops needs, and say what to fix.",
    discussion: "Exits 0 when nothing failed (warnings allowed), 1 otherwise.")

  enum Level: String { case ok, warn, fail }

  struct Check {
    var name: String
    var level: Level
    var detail: String
    var fix: String?
  }

  func run() async throws {
    let home = HopsHome.fromEnvironment()
    var checks: [Check] = []
    checks.append(kernel())
    checks.append(Check(
      name: "root", level: geteuid() == 0 ? .ok : .fail, detail: geteuid() == 0 ? "running as root" : "not root",
      fix: "run hops as root (sandboxes need namespaces and mounts)"))
    checks.append(namespaces())
    checks.append(userNamespaces(home))
    checks.append(cgroups())
    checks.append(filesystem("overlay", fix: "modprobe overlay"))
    checks.append(seccomp())
    checks.append(tools())
    checks.append(busybox())
    checks.append(homeDirectory(home))
    checks.append(daemon(home))
    checks.append(defaultRootfs(home))

    for check in checks {
      let marker = check.level.rawValue.uppercased().padding(4)
      var line = "\(marker)  \(check.name.padding(14))  \(check.detail)"
      if check.level != .ok, let fix = check.fix { line += "\n      fix: \(fix)" }
      print(line)
    }
    if checks.contains(where: { $0.level == .fail }) { throw ExitCode(1) }
  }

  func kernel() -> Check {
    var info = utsname()
    uname(&info)
    let release = withUnsafeBytes(of: &info.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    let parts = release.split(separator: ".").compactMap { Int($0.prefix { $0.isNumber }) }
    let recent = parts.count >= 2 && (parts[0], parts[1]) >= (5, 6)
    return Check(
      name: "kernel", level: recent ? .ok : .fail, detail: "Linux \(release)",
      fix: "Hops needs Linux 5.6 or later (openat2, TIOCGPTPEER, close_range)")
  }

  func namespaces() -> Check {
    let missing = ["mnt", "pid", "uts", "ipc", "net", "cgroup"].filter { access("/proc/self/ns/\($0)", F_OK) != 0 }
    return Check(
      name: "namespaces", level: missing.isEmpty ? .ok : .fail,
      detail: missing.isEmpty ? "mount, pid, uts, ipc, net, cgroup" : "missing: \(missing.joined(separator: ", "))",
      fix: "use a kernel built with those namespaces")
  }

  func userNamespaces(_ home: HopsHome) -> Check {
    try? FileManager.default.createDirectory(atPath: home.root, withIntermediateDirectories: true)
    let result = UserNamespaceSupport.probe(home: home)
    return Check(
      name: "user namespace", level: result.supported ? .ok : .warn,
      detail: result.supported ? "each sandbox's root is an unprivileged host id" : "sandboxes run without one: \(result.reason ?? "")",
      fix: "use Linux 6.15 or later, with user namespaces enabled (user.max_user_namespaces > 0)")
  }

  func cgroups() -> Check {
    guard let hierarchy = CgroupHierarchy.detect() else {
      return Check(name: "cgroups", level: .warn, detail: "no cgroup filesystem mounted", fix: "mount cgroup2 on /sys/fs/cgroup; limits will be refused")
    }
    let missing = ["memory", "cpu", "pids"].filter { !hierarchy.available.contains($0) }
    return Check(
      name: "cgroups", level: missing.isEmpty ? .ok : .warn, detail: hierarchy.description,
      fix: "enable the \(missing.joined(separator: ", ")) controller(s); limits that need them are refused")
  }

  func filesystem(_ name: String, fix: String) -> Check {
    let known = ((try? readText("/proc/filesystems")) ?? "").contains("\t\(name)\n")
    return Check(name: name, level: known ? .ok : .fail, detail: known ? "supported" : "not in /proc/filesystems", fix: fix)
  }

  func seccomp() -> Check {
    let status = (try? readText("/proc/self/status")) ?? ""
    let has = status.contains("Seccomp:")
    return Check(
      name: "seccomp", level: has ? .ok : .warn, detail: has ? "available (filters arrive with the hardening work)" : "not available",
      fix: "use a kernel with CONFIG_SECCOMP_FILTER")
  }

  func tools() -> Check {
    // `ip` makes the bridge; the rules go through libnftables, which hopsd loads.
    var missing = [(String, String)]()
    if access("/usr/sbin/ip", X_OK) != 0 { missing.append(("/usr/sbin/ip", "iproute2")) }
    var message = [CChar](repeating: 0, count: 512)
    if hops_nft_available(&message, message.count) == 0 { missing.append(("libnftables.so.1", "libnftables1")) }
    return Check(
      name: "network tools", level: missing.isEmpty ? .ok : .warn,
      detail: missing.isEmpty ? "ip and libnftables present" : "missing: \(missing.map(\.0).joined(separator: ", "))",
      fix: "apt-get install \(missing.map(\.1).joined(separator: " ")) (needed by --network outbound and full)")
  }

  func busybox() -> Check {
    let present = access("/bin/busybox", X_OK) == 0
    return Check(
      name: "busybox", level: present ? .ok : .warn, detail: present ? "/bin/busybox" : "missing",
      fix: "apt-get install busybox-static (for the default rootfs when no Alpine tarball is in $HOPS_HOME)")
  }

  func homeDirectory(_ home: HopsHome) -> Check {
    var info = stat()
    guard stat(home.root, &info) == 0 else {
      return Check(name: "HOPS_HOME", level: .warn, detail: "\(home.root) does not exist yet", fix: "hops init")
    }
    let mode = info.st_mode & 0o777
    let good = mode == 0o700 && info.st_uid == geteuid()
    return Check(
      name: "HOPS_HOME", level: good ? .ok : .warn, detail: "\(home.root) mode \(String(mode, radix: 8)) owner \(info.st_uid)",
      fix: "chmod 700 \(home.root) (it holds the daemon's socket: owner only)")
  }

  func daemon(_ home: HopsHome) -> Check {
    let connection = DaemonConnection(home: home)
    guard connection.isRunning() else {
      return Check(name: "daemon", level: .warn, detail: "not running (hops starts it on first use)", fix: "hops system start")
    }
    var info = stat()
    let mode = stat(home.socketPath, &info) == 0 ? info.st_mode & 0o777 : 0
    return Check(
      name: "daemon", level: mode == 0o600 ? .ok : .warn, detail: "running, socket \(home.socketPath) mode \(String(mode, radix: 8))",
      fix: "restart it: hops system restart")
  }

  func defaultRootfs(_ home: HopsHome) -> Check {
    let present = access(home.rootfs(named: "default") + "/info.json", F_OK) == 0
    return Check(
      name: "default rootfs", level: present ? .ok : .warn, detail: present ? home.rootfs(named: "default") : "not made yet",
      fix: "hops init (also done on first use)")
  }
}

extension String {
  func padding(_ width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
}
