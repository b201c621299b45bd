import HopsCore

/// Sizes as users write them: `268435456`, `512M`, `2G`, `1.5G`, `64k` (powers of
/// 1024; an optional trailing `B` or `iB` is accepted: `512MiB`).
public enum ByteSize {
  public static func parse(_ text: String) throws -> UInt64 {
    var body = text.trimmed.uppercased()
    if body.hasSuffix("IB") { body.removeLast(2) } else if body.hasSuffix("B") && body.count > 1 { body.removeLast() }
    let units: [Character: UInt64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
    var multiplier: UInt64 = 1
    if let last = body.last, let unit = units[last] {
      multiplier = unit
      body.removeLast()
    }
    guard let number = Double(body), number.isFinite, number >= 0, !body.isEmpty,
      body.allSatisfy({ $0.isNumber || $0 == "." })
    else {
      throw HopsError.invalid("invalid size '\(text)'", hint: "write bytes or a number with K, M, G or T, e.g. 512M or 1.5G")
    }
    let bytes = number * Double(multiplier)
    guard bytes < 1.8e19 else { throw HopsError.invalid("size '\(text)' is too large") }
    return UInt64(bytes.rounded())
  }

  /// The shortest exact form: `512M`, `1536M`, `2G`, else plain bytes.
  public static func format(_ bytes: UInt64) -> String {
    for (suffix, unit) in [("T", UInt64(1) << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)]
    where bytes >= unit && bytes % unit == 0 {
      return "\(bytes / unit)\(suffix)"
    }
    return "\(bytes)"
  }
}

/// Durations as users write them: `30s`, `5m`, `1.5h`, `500ms`, or plain seconds.
public enum DurationText {
  public static func parse(_ text: String) throws -> Double {
    let body = text.trimmed.lowercased()
    let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
    for (suffix, scale) in units where body.hasSuffix(suffix) {
      let number = String(body.dropLast(suffix.count))
      // "ms" must not be read as "m" + "s": the loop tries "ms" first.
      if let value = Double(number), value.isFinite, value >= 0, !number.isEmpty { return value * scale }
      break
    }
    if let value = Double(body), value.isFinite, value >= 0 { return value }
    throw HopsError.invalid("invalid duration '\(text)'", hint: "write seconds or a number with ms, s, m, h or d, e.g. 30s or 5m")
  }

  public static func format(_ seconds: Double) -> String {
    if seconds >= 3600 && seconds.truncatingRemainder(dividingBy: 3600) == 0 { return "\(Int(seconds / 3600))h" }
    if seconds >= 60 && seconds.truncatingRemainder(dividingBy: 60) == 0 { return "\(Int(seconds / 60))m" }
    if seconds == seconds.rounded() { return "\(Int(seconds))s" }
    return "\(seconds)s"
  }
}
