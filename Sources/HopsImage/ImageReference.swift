import HopsCore

/// `alpine:3.20`, `ghcr.io/owner/tool@sha256:…`, `localhost:5000/x/y:tag`, in
/// Docker's conventions: no registry means docker.io, and a one-part name on
/// docker.io lives under `library/`.
public struct ImageReference: Sendable, Equatable, CustomStringConvertible {
  public var registry: String
  public var repository: String
  public var tag: String?
  public var digest: String?

  public static let defaultRegistry = "docker.io"

  public static func parse(_ text: String) throws -> ImageReference {
    guard !text.isEmpty, text.count <= 512, !text.contains(" ") else {
      throw HopsError.invalid("invalid image reference '\(text)'")
    }
    var rest = Substring(text)
    var digest: String?
    if let at = rest.firstIndex(of: "@") {
      digest = String(rest[rest.index(after: at)...])
      rest = rest[..<at]
      guard let value = digest, value.hasPrefix("sha256:"), value.count == 71,
        value.dropFirst(7).allSatisfy({ $0.isHexDigit && !$0.isUppercase })
      else { throw HopsError.invalid("invalid digest in '\(text)'", hint: "write @sha256: and 64 lowercase hex digits") }
    }
    var tag: String?
    if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
      tag = String(rest[rest.index(after: colon)...])
      rest = rest[..<colon]
    }
    var parts = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    var registry = defaultRegistry
    // A first part is a registry host when it looks like one: a dot, a numeric
    // port, or localhost.
    let first = parts[0]
    let port = first.split(separator: ":", maxSplits: 1).dropFirst().first
    let looksLikeHost = first.contains(".") || first == "localhost" || port.map { !$0.isEmpty && $0.allSatisfy(\.isNumber) } == true
    if parts.count > 1, looksLikeHost, port == nil || port!.allSatisfy(\.isNumber) {
      registry = parts.removeFirst()
    }
    if registry == defaultRegistry && parts.count == 1 { parts.insert("library", at: 0) }
    let repository = parts.joined(separator: "/")
    let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789._-/")
    guard !repository.isEmpty, repository.allSatisfy({ allowed.contains($0) }), !parts.contains("") else {
      throw HopsError.invalid("invalid image name '\(text)'", hint: "lowercase letters, digits, '.', '_', '-' and '/'")
    }
    if let tag, tag.isEmpty || tag.count > 128 || !tag.allSatisfy({ $0.isLetter || $0.isNumber || "._-".contains($0) }) {
      throw HopsError.invalid("invalid tag in '\(text)'")
    }
    return ImageReference(registry: registry, repository: repository, tag: tag ?? (digest == nil ? "latest" : nil), digest: digest)
  }

  /// The full, canonical form: `docker.io/library/alpine:3.20`.
  public var description: String {
    var text = registry + "/" + repository
    if let tag { text += ":" + tag }
    if let digest { text += "@" + digest }
    return text
  }

  /// The form people type: `alpine:3.20` for Docker Hub's library images.
  public var short: String {
    var text = description
    for prefix in [Self.defaultRegistry + "/library/", Self.defaultRegistry + "/"] where text.hasPrefix(prefix) {
      text.removeFirst(prefix.count)
      break
    }
    return text
  }
}
