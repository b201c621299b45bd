import HopsCLI

/// The full command line: every command, with ArgumentParser, gRPC and the
/// policy built on this side. `hops` hands it what its front does not do
/// itself (see CFront/include/front.h); it can be run as it is, too.
@main
enum Entry {
  static func main() async {
    await HopsCommand.main()
  }
}
