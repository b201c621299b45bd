import Glibc

/// Runs a helper program (cp, busybox) to completion and returns its status and
/// its combined stdout and stderr. For short, trusted host tools only.
public enum Subprocess {
  /// `input`, when given, is written to the program's stdin (small scripts for
  /// `ip -batch -`; they fit in a pipe buffer).
  public static func run(_ path: String, _ arguments: [String], input: String? = nil) throws(SyscallError) -> (status: Int32, output: String) {
    let stdin: Int32
    var stdinWriter: Int32 = -1
    if input != nil {
      let pipe = try FD.pipe()
      stdin = pipe.read
      stdinWriter = pipe.write
    } else {
      stdin = try syscall("open", "/dev/null") { open("/dev/null", O_RDONLY | O_CLOEXEC) }
    }
    defer { FD.close(stdin) }
    let (readEnd, writeEnd) = try FD.pipe()
    let pid: pid_t
    do {
      pid = try Spawn.start(
        path: path, argv: [path] + arguments, environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"],
        descriptors: [stdin, writeEnd, writeEnd])
    } catch {
      FD.close(readEnd)
      FD.close(writeEnd)
      FD.close(stdinWriter)
      throw error
    }
    FD.close(writeEnd)
    if let input {
      try? FD.writeAll(stdinWriter, Array(input.utf8))
      FD.close(stdinWriter)
    }
    var output: [UInt8] = []
    while let chunk = try? FD.read(readEnd, max: 65536), !chunk.isEmpty { output += chunk }
    FD.close(readEnd)
    let status = try Spawn.wait(pid)
    return (WaitStatus.shellCode(status), String(decoding: output, as: UTF8.self))
  }
}
