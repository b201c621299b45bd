import ArgumentParser
import HopsCore
import HopsPolicy

struct ProfileList: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "list", abstract: "List profiles: built-ins and yours, where each comes from, what shadows what.",
    aliases: ["ls"])

  func run() async throws {
    let listings = ProfileStore(home: HopsHome.fromEnvironment()).list()
    let rows = listings.map { listing -> [String] in
      var origin = listing.origin.description
      if !listing.shadows.isEmpty { origin += " (shadows \(listing.shadows.map(\.description).joined(separator: ", ")))" }
      let description = listing.profile?.description ?? "INVALID: see 'hops profile validate \(listing.origin.description)'"
      return [listing.name, description, origin]
    }
    print(TableText.render([["NAME", "DESCRIPTION", "FROM"]] + rows))
  }
}
