import Glibc
import HopsCore

/// Whether this kernel can give sandboxes their user namespace the way Hops
/// builds it: an overlay whose layers are detached (idmapped) mounts, made with
/// fsopen/fsconfig/fsmount and attached inside with move_mount. Linux 6.15 and
/// later can; older kernels refuse detached layers. The daemon probes once at
/// start; where the probe fails, sandboxes run without a user namespace (root
/// inside is then host root with reduced capabilities, seccomp and
/// no_new_privs) and `hops doctor` says so.
public enum UserNamespaceSupport {
  public struct Result: Sendable, Equatable {
    public var supported: Bool
    /// Why not, when not.
    public var reason: String?
  }

  public static func probe(home: HopsHome) -> Result {
    if let limit = try? readText("/proc/sys/user/max_user_namespaces"), Int(limit.trimmed) == 0 {
      return Result(supported: false, reason: "user namespaces are disabled (user.max_user_namespaces = 0)")
    }
    let base = home.root + "/.userns-probe-\(getpid())"
    defer { try? FileTree.remove(base) }
    for path in [base, base + "/lower", base + "/upper", base + "/work"] where mkdir(path, 0o700) != 0 {
      return Result(supported: false, reason: "cannot create \(path): \(errnoString(errno))")
    }
    do {
      let lower = try DetachedMounts.clone(base + "/lower")
      defer { FD.close(lower) }
      let overlay = try DetachedMounts.overlay(
        lower: [DetachedMounts.path(of: lower)], upper: base + "/upper", work: base + "/work", attributes: [.noSuid, .noDev])
      FD.close(overlay)
      return Result(supported: true)
    } catch {
      return Result(supported: false, reason: "this kernel cannot build an overlay on detached layers (\(error)); Linux 6.15 or later can")
    }
  }
}
