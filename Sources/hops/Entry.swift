import Glibc
import HopsCLI

@main
enum Entry {
  static func main() async {
    // The common run goes straight to the daemon (see QuickRun); everything
    // else, and that run when it cannot, through the full command line.
    if let code = QuickRun.attempt(Array(CommandLine.arguments.dropFirst())) { exit(code) }
    await HopsCommand.main()
  }
}
