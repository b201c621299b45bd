import FoundationEssentials
import Glibc
import HopsCore
import Synchronization

/// Finds profiles by name: `$HOPS_HOME/profiles/NAME.toml`, then
/// `/etc/hops/profiles/NAME.toml`, then the built-ins. The first one found wins
/// and shadows the others of the same name.
public struct ProfileStore: Sendable {
  public let directories: [String]

  public static let systemDirectory = "/etc/hops/profiles"

  public init(home: HopsHome, systemDirectory: String = ProfileStore.systemDirectory) {
    directories = [home.profilesDir, systemDirectory]
  }

  public struct Listing: Sendable {
    public var profile: Profile?
    public var name: String
    public var origin: Profile.Origin
    /// The origins of the same name that this one hides.
    public var shadows: [Profile.Origin]
    /// Problems, when the file does not load.
    public var problems: ProfileErrors?
  }

  /// The profile called `name` (by the lookup order), or a clear error.
  public func load(_ name: String, host: HostFacts = .current()) throws -> Profile {
    try Policy.validateName(name, what: "profile")
    for directory in directories {
      let path = directory + "/" + name + ".toml"
      if FileManager.default.fileExists(atPath: path) { return try Self.load(file: path, host: host) }
    }
    if let builtin = BuiltinProfiles.sources.first(where: { $0.name == name }) {
      return try Self.parseBuiltin(builtin, host: host)
    }
    let known = list().map(\.name)
    throw HopsError.notFound("no profile named '\(name)'", hint: "known profiles: \(known.joined(separator: ", "))")
  }

  /// A profile file parsed, or every problem in it; throws only when the file
  /// cannot be read. A file without `name` is named after itself.
  public static func parse(file path: String, host: HostFacts = .current()) throws -> Result<Profile, ProfileErrors> {
    parse(try PolicyFileText.read(path), host: host)
  }

  /// A profile file's text, named after its file.
  static func parse(_ file: PolicyFileText, host: HostFacts) -> Result<Profile, ProfileErrors> {
    let base = String(file.path.split(separator: "/").last ?? "profile")
    let name = base.hasSuffix(".toml") ? String(base.dropLast(5)) : base
    return ProfileParser.parse(file.text, file: file.path, defaultName: name, origin: .file(file.path), host: host)
  }

  /// A profile file named by its path (`--policy-file`), as its reader got it.
  public static func load(_ file: PolicyFileText, host: HostFacts = .current()) throws -> Profile {
    switch parse(file, host: host) {
    case .success(let profile): return profile
    case .failure(let errors):
      throw HopsError.invalid("invalid profile:\n" + errors.description, hint: "check it with 'hops profile validate \(file.path)'")
    }
  }

  /// A profile file named by its path (`--policy-file`).
  public static func load(file path: String, host: HostFacts = .current()) throws -> Profile {
    try load(PolicyFileText.read(path), host: host)
  }

  static func parseBuiltin(_ builtin: (name: String, toml: String), host: HostFacts = .current()) throws -> Profile {
    // A built-in's text never changes: it is parsed once per host facts (the
    // daemon asks at every run without a profile file).
    if let parsed = parsedBuiltins.withLock({ $0[builtin.name] }), parsed.host == host { return parsed.profile }
    switch ProfileParser.parse(builtin.toml, file: "built-in:\(builtin.name)", defaultName: builtin.name, origin: .builtin, host: host) {
    case .success(let profile):
      parsedBuiltins.withLock { $0[builtin.name] = (host, profile) }
      return profile
    case .failure(let errors): throw HopsError.failed("built-in profile '\(builtin.name)' is invalid: \(errors)")
    }
  }

  private static let parsedBuiltins = Mutex<[String: (host: HostFacts, profile: Profile)]>([:])

  /// Every profile by name, in lookup order, with what shadows what.
  public func list(host: HostFacts = .current()) -> [Listing] {
    var byName: [String: Listing] = [:]
    var order: [String] = []
    func record(_ name: String, _ origin: Profile.Origin, _ load: () -> Result<Profile, ProfileErrors>) {
      if byName[name] != nil {
        byName[name]!.shadows.append(origin)
        return
      }
      order.append(name)
      switch load() {
      case .success(let profile): byName[name] = Listing(profile: profile, name: name, origin: origin, shadows: [])
      case .failure(let errors): byName[name] = Listing(profile: nil, name: name, origin: origin, shadows: [], problems: errors)
      }
    }
    for directory in directories {
      let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".toml") }.sorted()
      for file in files {
        let path = directory + "/" + file
        let name = String(file.dropLast(5))
        record(name, .file(path)) {
          do { return try Self.parse(file: path, host: host) } catch {
            return .failure(ProfileErrors(problems: [ProfileProblem(file: path, key: nil, message: "\(error)")]))
          }
        }
      }
    }
    for builtin in BuiltinProfiles.sources {
      record(builtin.name, .builtin) {
        ProfileParser.parse(builtin.toml, file: "built-in:\(builtin.name)", defaultName: builtin.name, origin: .builtin, host: host)
      }
    }
    return order.sorted().compactMap { byName[$0] }
  }
}
