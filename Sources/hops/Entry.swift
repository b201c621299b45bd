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
    let path = (ExecutablePath.directory() ?? ".") + "/hops-cli"
    let arguments = CommandLine.arguments
    var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    execv(path, &argv)
    Console.error("hops: cannot run \(path): \(String(cString: strerror(errno))) (build it with 'swift build', or reinstall Hops)")
    exit(ExitCodes.hopsFailure)
  }
}
