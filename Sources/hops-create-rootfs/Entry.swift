import HopsCLI

/// The original Hops' one-time set-up command, kept so its quick start works as
/// written: the same as `hops init`.
@main
enum Entry {
  static func main() async { await HopsCommand.main(["init"] + CommandLine.arguments.dropFirst()) }
}
