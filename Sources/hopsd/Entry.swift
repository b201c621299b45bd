import HopsDaemon

@main
enum Entry {
  static func main() async { await DaemonCommand.main() }
}
