import ArgumentParser
import FoundationEssentials
import Glibc
import HopsCore
import HopsPolicy

struct ProfileCreate: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "create", abstract: "Write a new profile to $HOPS_HOME/profiles/NAME.toml from a template.")

  @Argument(help: "Name of the new profile.")
  var name: String

  @Option(help: "Profile to copy (default: default).")
  var template: String = "default"

  @Flag(help: "Overwrite an existing file of that name.")
  var force = false

  func run() async throws {
    try await reportingErrors {
      try Policy.validateName(name, what: "profile")
      let home = HopsHome.fromEnvironment()
      var profile = try ProfileLoading.load(template)
      let source = profile.name
      profile.name = name
      profile.description = "Made from '\(source)': " + profile.description
      for directory in [home.root, home.profilesDir] where mkdir(directory, 0o700) != 0 && errno != EEXIST {
        throw HopsError.failed("cannot create \(directory): \(String(cString: strerror(errno)))")
      }
      let path = home.profilesDir + "/" + name + ".toml"
      if FileManager.default.fileExists(atPath: path) && !force {
        throw HopsError(.alreadyExists, "\(path) already exists", hint: "edit it, or pass --force to overwrite it")
      }
      do {
        try Data(ProfileWriter.toml(profile).utf8).write(to: URL(fileURLWithPath: path))
      } catch {
        throw HopsError.failed("cannot write \(path): \(error)")
      }
      print("created \(path) from '\(source)'")
    }
  }
}
