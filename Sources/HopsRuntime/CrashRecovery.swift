import FoundationEssentials
import Glibc
import HopsCore
import HopsImage
import HopsOS

/// What a daemon that died without cleaning up (kill -9, a crash, a power cut)
/// left behind, found and removed by the next daemon before it serves anyone.
///
/// Mounts need no work: every sandbox mount lives in the sandbox's own mount
/// namespace and goes with it. Processes normally end by themselves: hops-init
/// kills its sandbox when its control socket to the daemon closes. What remains
/// is the sandbox directories, the cgroups marked as this home's (a run thrown
/// away at its exit has nothing else), and any hops-init that somehow survived.
///
/// Sandboxes that were running are not re-adopted: their hops-init ended them
/// when the daemon went (the control socket is their lifeline), because nobody
/// was left to receive their output or enforce their timeout. A sandbox that
/// stays after its exit (detached, created, or kept) is marked as stopped, exit
/// code 137, with a message that says so; `ps -a` tells that truth. An
/// attached run's sandbox, which its client can no longer reach, is removed.
public enum CrashRecovery {
  public struct Result: Sendable, Equatable {
    public var removedSandboxes: [String] = []
    /// Sandboxes that were running and are now recorded as stopped.
    public var markedStopped: [String] = []
    public var killedProcesses: [Int32] = []
    /// Sandboxes known only by their cgroup (runs thrown away at their exit,
    /// the warm pool's), whose cgroups were removed.
    public var removedCgroups: [String] = []
  }

  public static func run(home: HopsHome, cgroups: CgroupHierarchy?) -> Result {
    var result = Result()
    RootfsStore(home: home).removeLeftovers()
    let ids = (try? FileManager.default.contentsOfDirectory(atPath: home.sandboxesDir)) ?? []
    for id in ids {
      let directory = home.sandbox(id: id)
      let record = SandboxRecord.load(from: directory)
      if let record, !record.isRunning { continue }  // stopped already; stays until 'hops rm'
      if let pid = record?.initPid, pid > 0, isHopsInit(pid) {
        kill(pid, SIGKILL)
        result.killedProcesses.append(pid)
        // Not our child (its parent died): wait until it is gone before removing its files.
        for _ in 0..<200 where isHopsInit(pid) { usleep(5_000) }
      }
      // Only this home's sandboxes: another daemon (another $HOPS_HOME) shares
      // the parent cgroup, and its cgroups are none of our business.
      if let cgroups {
        let cgroup = SandboxCgroup(hierarchy: cgroups, name: id, withCpuset: true)
        // A run removed at its exit has no record, so no pid to kill: what
        // is left of it (had its hops-init survived) is found in its cgroup.
        if record == nil { cgroup.killAll() }
        cgroup.remove(seconds: 1)
      }
      if var stopped = record, !stopped.removedOnExit {
        stopped.exitCode = 137
        stopped.exitSignal = SIGKILL
        stopped.exitMessage = "ended when hopsd stopped unexpectedly (sandboxes do not outlive their daemon)"
        stopped.finishedAt = stopped.finishedAt ?? Date().timeIntervalSince1970
        try? stopped.save(to: directory)
        result.markedStopped.append(id)
        continue
      }
      try? FileManager.default.removeItem(atPath: directory)
      result.removedSandboxes.append(id)
    }
    // What else is left is in cgroups marked as this home's: runs thrown
    // away at their exit and the warm pool's sandboxes, which have no
    // directory (their hops-init ended with the daemon, their control socket
    // closed; had one survived, it is killed through its cgroup).
    if let cgroups {
      for id in SandboxCgroup.owned(by: home.root, in: cgroups) {
        let cgroup = SandboxCgroup(hierarchy: cgroups, name: id, withCpuset: true)
        cgroup.killAll()
        cgroup.remove(seconds: 1)
        result.removedCgroups.append(id)
      }
    }
    // Left by a daemon of an earlier version, which gave warm ones a
    // directory of their own.
    let warmDir = home.root + "/warm"
    for id in (try? FileManager.default.contentsOfDirectory(atPath: warmDir)) ?? [] {
      if let cgroups { SandboxCgroup(hierarchy: cgroups, name: id).remove(seconds: 1) }
      try? FileManager.default.removeItem(atPath: warmDir + "/" + id)
    }
    try? FileManager.default.removeItem(atPath: warmDir)
    return result
  }

  /// True if `pid` is a live hops-init (not a zombie, and not a reused pid).
  static func isHopsInit(_ pid: Int32) -> Bool {
    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return false }
    let text = String(decoding: data, as: UTF8.self)
    guard text.contains("(hops-init)") else { return false }
    // Field 3, after the ")" that ends the command name, is the state.
    guard let close = text.lastIndex(of: ")") else { return false }
    let state = text[text.index(after: close)...].split(separator: " ").first
    return state != "Z" && state != "X"
  }
}
