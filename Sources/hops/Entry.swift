import HopsCLI

@main
enum Entry {
  static func main() async { await HopsCommand.main() }
}
