import ArgumentParser

/// `hops profile list | show | create | validate`: named, reusable policies.
struct ProfileCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "profile",
    abstract: "List, show, create and validate sandbox profiles.",
    discussion: """
      A profile is a TOML policy. Lookup order for a name: $HOPS_HOME/profiles/NAME.toml,
      then /etc/hops/profiles/NAME.toml, then the built-ins; the first found wins.
      """,
    subcommands: [ProfileList.self, ProfileShow.self, ProfileCreate.self, ProfileValidate.self])
}
