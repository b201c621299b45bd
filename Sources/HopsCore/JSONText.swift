/// JSON written by hand, for the few messages a freshly started process sends
/// first (a sandbox's hops-init; the daemon's on every run's path): JSONEncoder's first use in
/// a process costs the Swift runtime about half a millisecond of CPU, finding
/// and instantiating the generic types of Codable; these messages need none of
/// it. Each writer matches the synthesized Codable layout exactly (enum cases
/// as `{"case":{...}}`, absent optionals left out), and a unit test decodes
/// what it writes with JSONDecoder.
public enum JSONText {
  /// A JSON string literal: quotes, backslashes, control characters and DEL
  /// escaped. The same text is a TOML basic string (ProfileWriter uses it).
  public static func quoted(_ text: String) -> String {
    // Most texts need no escape at all (paths, names, Base64): one pass over
    // their bytes, then a copy, instead of building them scalar by scalar.
    if !text.utf8.contains(where: { $0 == 0x22 || $0 == 0x5c || $0 < 0x20 || $0 == 0x7f }) {
      return "\"" + text + "\""
    }
    var out = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case _ where scalar.value < 0x20 || scalar.value == 0x7f:
        let hex = String(scalar.value, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out + "\""
  }

  // Plain loops below, not map and joined: unspecialized generic code would
  // have the runtime search the executable's protocol conformances at a
  // process's first message.

  /// `true` or `false`.
  public static func bool(_ value: Bool) -> String { value ? "true" : "false" }

  /// A number: Swift's shortest text that reads back as the same Double. A
  /// record's figures are always finite (JSON has no NaN or infinity).
  public static func number(_ value: Double) -> String {
    precondition(value.isFinite, "JSON has no text for \(value)")
    return "\(value)"
  }

  /// `[` the strings `]`.
  public static func array(_ texts: [String]) -> String {
    var quotedTexts: [String] = []
    quotedTexts.reserveCapacity(texts.count)
    for text in texts { quotedTexts.append(quoted(text)) }
    return array(written: quotedTexts)
  }

  /// `[` the already written values `]`.
  public static func array(written values: [String]) -> String {
    var out = "["
    for (index, value) in values.enumerated() {
      if index > 0 { out += "," }
      out += value
    }
    return out + "]"
  }

  /// An object from (key, already written value) pairs; nil values are left out.
  public static func object(_ members: [(String, String?)]) -> String {
    var out = "{"
    for (key, value) in members {
      guard let value else { continue }
      if out.utf8.count > 1 { out += "," }
      out += quoted(key) + ":" + value
    }
    return out + "}"
  }
}
