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
