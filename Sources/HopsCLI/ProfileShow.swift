import ArgumentParser
import HopsCore
import HopsPolicy

struct ProfileShow: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "show", abstract: "Print a profile as it would be applied, every key spelled out.")

  @Argument(help: "A profile name, or the path of a .toml file.")
  var profile: String

  func run() async throws {
    try await reportingErrors {
      let loaded = try ProfileLoading.load(profile)
      print("# \(loaded.name): from \(loaded.origin.description)")
      print(ProfileWriter.toml(loaded), terminator: "")
    }
  }
}

enum ProfileLoading {
  /// A name goes through the lookup order; anything with a '/' or ending in
  /// .toml is a file.
  static func load(_ nameOrPath: String) throws -> Profile {
    if nameOrPath.contains("/") || nameOrPath.hasSuffix(".toml") {
      return try ProfileStore.load(file: nameOrPath)
    }
    return try ProfileStore(home: HopsHome.fromEnvironment()).load(nameOrPath)
  }
}
