import ArgumentParser
import FoundationEssentials
import Glibc
import HopsCore
import HopsPolicy

struct ProfileValidate: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "validate", abstract: "Check a profile file: prints 'valid', or every problem with file, key and reason.",
    discussion: "Exits 0 when valid, 1 when not, 125 when the file cannot be read.")

  @Argument(help: "The .toml file, or the name of a profile.")
  var profile: String

  func run() async throws {
    var path = profile
    if !profile.contains("/") && !profile.hasSuffix(".toml") {
      let store = ProfileStore(home: HopsHome.fromEnvironment())
      guard let listing = store.list().first(where: { $0.name == profile }) else {
        Console.error("hops: no profile named '\(profile)'")
        throw ExitCode(125)
      }
      guard case .file(let file) = listing.origin else {
        print("valid (built-in)")
        return
      }
      path = file
    }
    let result: Result<Profile, ProfileErrors>
    do { result = try ProfileStore.parse(file: path) } catch let error as HopsError {
      Console.error("hops: \(error.description)")
      throw ExitCode(125)
    }
    switch result {
    case .success:
      print("valid")
    case .failure(let errors):
      for problem in errors.problems { print(problem.description) }
      throw ExitCode(1)
    }
  }
}
