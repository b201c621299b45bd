import Glibc

/// Runs a helper program (cp, busybox) to completion and returns its status and
/// its combined stdout and stderr. For short, trusted host tools only.
public enum Subprocess {
  public static func run(_ path: String, _ arguments: [String]) throws(SyscallError) -> (status: Int32, output: String) {
    let devNull = try syscall("open", "/dev/null") { open("/dev/null", O_RDONLY | O_CLOEXEC) }
    defer { FD.close(devNull) }
    let (readEnd, writeEnd) = try FD.pipe()
    let pid: pid_t
    do {
      pid = try Spawn.start(
        path: path, argv: [path] + arguments, environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"],
        descriptors: [devNull, writeEnd, writeEnd])
    } catch {
      FD.close(readEnd)
      FD.close(writeEnd)
      throw error
    }
    FD.close(writeEnd)
    var output: [UInt8] = []
    while let chunk = try? FD.read(readEnd, max: 65536), !chunk.isEmpty { output += chunk }
    FD.close(readEnd)
    let status = try Spawn.wait(pid)
    return (WaitStatus.shellCode(status), String(decoding: output, as: UTF8.self))
  }
}
