import Glibc
import HopsCore
import HopsDirectRun
import HopsOS

/// `hops`: a small front that starts in about a millisecond. The common run
/// (see QuickRun) goes straight to the daemon from here; every other command
/// line, and that run when it cannot go direct, is handed whole to the full
/// command line, `hops-cli`, beside this executable.
@main
enum Entry {
  static func main() {
    if let code = QuickRun.attempt(Array(CommandLine.arguments.dropFirst())) { exit(code) }
    // Only ever the hops-cli beside us: never one found in the current
    // directory or on PATH.
    guard let directory = ExecutablePath.directory() else {
      Console.error("hops: cannot find where hops is installed (/proc/self/exe): is /proc mounted?")
      exit(ExitCodes.hopsFailure)
    }
    let path = directory + "/hops-cli"
    var argv: [UnsafeMutablePointer<CChar>?] = CommandLine.arguments.map { strdup($0) } + [nil]
    execv(path, &argv)
    Console.error("hops: cannot run \(path): \(String(cString: strerror(errno))) (build it with 'swift build', or reinstall Hops)")
    exit(ExitCodes.hopsFailure)
  }
}
