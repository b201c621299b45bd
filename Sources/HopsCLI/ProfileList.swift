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
    let widths = (0..<2).map { column in ([["NAME", "DESCRIPTION"]] + rows).map { $0[column].count }.max() ?? 0 }
    for row in [["NAME", "DESCRIPTION", "FROM"]] + rows {
      print(row[0].padded(widths[0]) + "  " + row[1].padded(widths[1]) + "  " + row[2])
    }
  }
}

extension String {
  func padded(_ width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
}
