/// JSON read by hand: the counterpart of JSONText, for a message that a freshly
/// started process reads first (hops-init reads its plan), and for the
/// daemon's own reading of messages on every run's path.
/// JSONDecoder would cost it the Swift runtime's lookup and instantiation of
/// every generic type Codable touches (about half a millisecond), and its
/// FoundationEssentials code, pages the process would fault in at every run.
///
/// A strict reader of RFC 8259 text: one value, whitespace around it, nothing
/// else. Numbers keep their text, so that an integer of 64 bits is read
/// exactly (a Double would round it); the accessors convert. Nothing generic
/// is left to the runtime (a Dictionary's Hashable key, say, would send it
/// searching every protocol conformance of the executable): an object is an
/// array of members, and the accessors name their types.
public enum JSONValue: Equatable, Sendable {
  case null
  case bool(Bool)
  /// The number as written, checked to be a JSON number.
  case number(String)
  case string(String)
  case array([JSONValue])
  /// In the order written; of a key written twice, the last counts (as for
  /// JSONDecoder).
  case object([Member])

  public struct Member: Equatable, Sendable {
    public var key: String
    public var value: JSONValue
    public init(_ key: String, _ value: JSONValue) {
      self.key = key
      self.value = value
    }
  }

  /// Why a text is not one JSON value: what was found, and where.
  public struct Malformed: Error, Equatable, CustomStringConvertible {
    public let offset: Int
    public let reason: String
    public var description: String { "malformed JSON at byte \(offset): \(reason)" }
  }

  /// Nested arrays and objects beyond this depth are refused: the reader
  /// recurses, and a hostile text must not exhaust its stack.
  public static let maximumDepth = 64

  public init(parsing bytes: [UInt8]) throws(Malformed) {
    var reader = Reader(bytes: bytes)
    reader.skipWhitespace()
    self = try reader.value(depth: 0)
    reader.skipWhitespace()
    guard reader.atEnd else { throw reader.malformed("text after the value") }
  }

  public init(parsing text: String) throws(Malformed) {
    try self.init(parsing: Array(text.utf8))
  }

  /// A member of an object; nil for anything else or a missing key.
  public subscript(key: String) -> JSONValue? {
    guard case .object(let members) = self else { return nil }
    return members.last(where: { $0.key == key })?.value
  }

  public var string: String? {
    guard case .string(let text) = self else { return nil }
    return text
  }

  public var bool: Bool? {
    guard case .bool(let value) = self else { return nil }
    return value
  }

  /// The number, if it is finite as a Double (JSONDecoder refuses 1e400 too).
  public var double: Double? {
    guard case .number(let text) = self, let value = Double(text), value.isFinite else { return nil }
    return value
  }

  /// The number, if it is an integer written as one (no fraction, no
  /// exponent) within Int64's range: stricter than JSONDecoder, which takes
  /// 3.0 or 1e3 for an Int. Every writer here writes integers as integers.
  public var int64: Int64? {
    guard case .number(let text) = self else { return nil }
    return Int64(text)
  }

  /// The number, if it is an integer written as one within UInt64's range.
  public var uint64: UInt64? {
    guard case .number(let text) = self else { return nil }
    return UInt64(text)
  }

  public var array: [JSONValue]? {
    guard case .array(let elements) = self else { return nil }
    return elements
  }

  /// For Codable's enum layout, `{"case":{...}}`: the one key and its value
  /// (of a key written more than once, the last, as JSONDecoder reads it).
  public var onlyMember: (key: String, value: JSONValue)? {
    guard case .object(let members) = self, let last = members.last, members.allSatisfy({ $0.key == last.key }) else {
      return nil
    }
    return (last.key, last.value)
  }
}

extension JSONValue {
  private struct Reader {
    let bytes: [UInt8]
    var index = 0

    var atEnd: Bool { index == bytes.count }

    func malformed(_ reason: String) -> Malformed { Malformed(offset: index, reason: reason) }

    mutating func skipWhitespace() {
      while index < bytes.count {
        switch bytes[index] {
        case 0x20, 0x09, 0x0a, 0x0d: index += 1
        default: return
        }
      }
    }

    mutating func value(depth: Int) throws(Malformed) -> JSONValue {
      guard index < bytes.count else { throw malformed("the text ends where a value should be") }
      switch bytes[index] {
      case UInt8(ascii: "{"): return try object(depth: depth + 1)
      case UInt8(ascii: "["): return try array(depth: depth + 1)
      case UInt8(ascii: "\""): return .string(try string())
      case UInt8(ascii: "t"): try literal("true"); return .bool(true)
      case UInt8(ascii: "f"): try literal("false"); return .bool(false)
      case UInt8(ascii: "n"): try literal("null"); return .null
      case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
      default: throw malformed("unexpected character")
      }
    }

    mutating func literal(_ word: String) throws(Malformed) {
      for byte in word.utf8 {
        guard index < bytes.count, bytes[index] == byte else { throw malformed("expected \(word)") }
        index += 1
      }
    }

    mutating func object(depth: Int) throws(Malformed) -> JSONValue {
      guard depth <= JSONValue.maximumDepth else { throw malformed("nested too deeply") }
      index += 1  // {
      var members: [Member] = []
      skipWhitespace()
      if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
        index += 1
        return .object(members)
      }
      while true {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw malformed("expected a key") }
        let key = try string()
        skipWhitespace()
        try expect(":")
        skipWhitespace()
        members.append(Member(key, try value(depth: depth)))
        skipWhitespace()
        if try endOrComma("}") { return .object(members) }
      }
    }

    mutating func array(depth: Int) throws(Malformed) -> JSONValue {
      guard depth <= JSONValue.maximumDepth else { throw malformed("nested too deeply") }
      index += 1  // [
      var elements: [JSONValue] = []
      skipWhitespace()
      if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
        index += 1
        return .array(elements)
      }
      while true {
        skipWhitespace()
        elements.append(try value(depth: depth))
        skipWhitespace()
        if try endOrComma("]") { return .array(elements) }
      }
    }

    mutating func expect(_ character: Unicode.Scalar) throws(Malformed) {
      guard index < bytes.count, bytes[index] == UInt8(ascii: character) else { throw malformed("expected \(character)") }
      index += 1
    }

    /// After a member or element: true at the closing bracket, false after a comma.
    mutating func endOrComma(_ close: Unicode.Scalar) throws(Malformed) -> Bool {
      guard index < bytes.count else { throw malformed("the text ends inside a bracket") }
      let byte = bytes[index]
      index += 1
      if byte == UInt8(ascii: close) { return true }
      guard byte == UInt8(ascii: ",") else {
        index -= 1
        throw malformed("expected , or \(close)")
      }
      return false
    }

    mutating func number() throws(Malformed) -> String {
      let start = index
      func digits(_ reader: inout Reader) -> Int {
        let first = reader.index
        while reader.index < reader.bytes.count, (0x30...0x39).contains(reader.bytes[reader.index]) { reader.index += 1 }
        return reader.index - first
      }
      if bytes[index] == UInt8(ascii: "-") { index += 1 }
      let leadingZero = index < bytes.count && bytes[index] == UInt8(ascii: "0")
      let whole = digits(&self)
      guard whole > 0, !(leadingZero && whole > 1) else { throw malformed("a number needs digits, without leading zeros") }
      if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
        index += 1
        guard digits(&self) > 0 else { throw malformed("a fraction needs digits") }
      }
      if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
        index += 1
        if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard digits(&self) > 0 else { throw malformed("an exponent needs digits") }
      }
      return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    mutating func string() throws(Malformed) -> String {
      index += 1  // "
      var utf8: [UInt8] = []
      while true {
        guard index < bytes.count else { throw malformed("the text ends inside a string") }
        let byte = bytes[index]
        index += 1
        switch byte {
        case UInt8(ascii: "\""):
          // Invalid UTF-8 is refused, not repaired: the writer sends Swift strings.
          guard let text = String(validating: utf8, as: UTF8.self) else { throw malformed("a string is not UTF-8") }
          return text
        case UInt8(ascii: "\\"):
          try escape(into: &utf8)
        case 0..<0x20:
          index -= 1
          throw malformed("a control character inside a string")
        default:
          utf8.append(byte)
        }
      }
    }

    mutating func escape(into utf8: inout [UInt8]) throws(Malformed) {
      guard index < bytes.count else { throw malformed("the text ends inside an escape") }
      let byte = bytes[index]
      index += 1
      switch byte {
      case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(byte)
      case UInt8(ascii: "b"): utf8.append(0x08)
      case UInt8(ascii: "f"): utf8.append(0x0c)
      case UInt8(ascii: "n"): utf8.append(0x0a)
      case UInt8(ascii: "r"): utf8.append(0x0d)
      case UInt8(ascii: "t"): utf8.append(0x09)
      case UInt8(ascii: "u"): try unicodeEscape(into: &utf8)
      default: throw malformed("an unknown escape")
      }
    }

    mutating func unicodeEscape(into utf8: inout [UInt8]) throws(Malformed) {
      var scalar = try hex4()
      if (0xD800..<0xDC00).contains(scalar) {
        // A high surrogate: its low half must follow as a second escape.
        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
          throw malformed("a lone surrogate")
        }
        index += 2
        let low = try hex4()
        guard (0xDC00..<0xE000).contains(low) else { throw malformed("a lone surrogate") }
        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
      }
      guard let unicode = Unicode.Scalar(scalar) else { throw malformed("a lone surrogate") }
      utf8.append(contentsOf: String(unicode).utf8)
    }

    mutating func hex4() throws(Malformed) -> UInt32 {
      guard index + 4 <= bytes.count else { throw malformed("\\u needs four hex digits") }
      var value: UInt32 = 0
      for byte in bytes[index..<index + 4] {
        let digit: UInt8
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
        default: throw malformed("\\u needs four hex digits")
        }
        value = value << 4 | UInt32(digit)
      }
      index += 4
      return value
    }
  }
}

extension JSONValue {
  /// Why a value is not what a hand-written decoder expected: the member's
  /// path and the type it should have had.
  public struct Mismatch: Error, Equatable, CustomStringConvertible {
    public let path: String
    public let expected: String
    public var description: String { "\(path.isEmpty ? "the message" : path): expected \(expected)" }
    public init(path: String, expected: String) {
      self.path = path
      self.expected = expected
    }
  }

  /// Typed access to an object's members for hand-written decoders, in the
  /// synthesized Codable layout (an absent optional and a null one are the
  /// same). Each accessor throws naming the member that is missing or of the
  /// wrong type.
  public struct Members {
    public let value: JSONValue
    public let path: String

    /// A message in Codable's enum layout, `{"case":{...}}`: the case's name
    /// and its members (named after it in errors).
    public static func enumCase(parsing bytes: [UInt8]) throws -> (kind: String, members: Members) {
      guard let (kind, body) = try JSONValue(parsing: bytes).onlyMember else {
        throw Mismatch(path: "", expected: "one case of a message")
      }
      return (kind, try Members(body, path: kind))
    }

    public init(_ value: JSONValue, path: String = "") throws(Mismatch) {
      guard case .object = value else { throw Mismatch(path: path, expected: "an object") }
      self.value = value
      self.path = path
    }

    private func member(_ key: String) -> JSONValue? {
      switch value[key] {
      case nil, .null?: return nil
      case let present?: return present
      }
    }

    private func mismatch(_ key: String, _ expected: String) -> Mismatch {
      Mismatch(path: path.isEmpty ? key : path + "." + key, expected: expected)
    }

    public func string(_ key: String) throws(Mismatch) -> String {
      guard let text = member(key)?.string else { throw mismatch(key, "a string") }
      return text
    }

    public func optionalString(_ key: String) throws(Mismatch) -> String? {
      guard let present = member(key) else { return nil }
      guard let text = present.string else { throw mismatch(key, "a string") }
      return text
    }

    public func bool(_ key: String) throws(Mismatch) -> Bool {
      guard let flag = member(key)?.bool else { throw mismatch(key, "true or false") }
      return flag
    }

    public func optionalBool(_ key: String) throws(Mismatch) -> Bool? {
      guard member(key) != nil else { return nil }
      return try bool(key)
    }

    public func int(_ key: String) throws(Mismatch) -> Int {
      guard let number = member(key)?.int64, let int = Int(exactly: number) else { throw mismatch(key, "an integer") }
      return int
    }

    public func optionalInt(_ key: String) throws(Mismatch) -> Int? {
      guard member(key) != nil else { return nil }
      return try int(key)
    }

    /// A signal number (or any integer of at most 32 bits).
    public func int32(_ key: String) throws(Mismatch) -> Int32 {
      guard let number = member(key)?.int64, let value = Int32(exactly: number) else { throw mismatch(key, "a 32-bit integer") }
      return value
    }

    /// An integer of at most 32 bits, unsigned.
    public func uint32(_ key: String) throws(Mismatch) -> UInt32 {
      guard let number = member(key)?.uint64, let value = UInt32(exactly: number) else {
        throw mismatch(key, "an integer from 0 to \(UInt32.max)")
      }
      return value
    }

    public func uint16(_ key: String) throws(Mismatch) -> UInt16 {
      guard let number = member(key)?.uint64, let value = UInt16(exactly: number) else {
        throw mismatch(key, "an integer from 0 to \(UInt16.max)")
      }
      return value
    }

    public func ints(_ key: String) throws(Mismatch) -> [Int] {
      guard let elements = member(key)?.array else { throw mismatch(key, "an array of integers") }
      var values: [Int] = []
      values.reserveCapacity(elements.count)
      for element in elements {
        guard let number = element.int64, let value = Int(exactly: number) else { throw mismatch(key, "an array of integers") }
        values.append(value)
      }
      return values
    }

    public func optionalInts(_ key: String) throws(Mismatch) -> [Int]? {
      guard member(key) != nil else { return nil }
      return try ints(key)
    }

    public func strings(_ key: String) throws(Mismatch) -> [String] {
      guard let elements = member(key)?.array else { throw mismatch(key, "an array of strings") }
      var texts: [String] = []
      texts.reserveCapacity(elements.count)
      for element in elements {
        guard let text = element.string else { throw mismatch(key, "an array of strings") }
        texts.append(text)
      }
      return texts
    }

    public func object(_ key: String) throws(Mismatch) -> Members {
      guard let present = member(key) else { throw mismatch(key, "an object") }
      return try Members(present, path: path.isEmpty ? key : path + "." + key)
    }

    public func optionalObject(_ key: String) throws(Mismatch) -> Members? {
      guard member(key) != nil else { return nil }
      return try object(key)
    }

    /// An array of objects, each for `decode`.
    public func objects(_ key: String) throws(Mismatch) -> [Members] {
      guard let elements = member(key)?.array else { throw mismatch(key, "an array of objects") }
      var members: [Members] = []
      members.reserveCapacity(elements.count)
      for (index, element) in elements.enumerated() {
        members.append(try Members(element, path: (path.isEmpty ? key : path + "." + key) + "[\(index)]"))
      }
      return members
    }

    /// Bytes as JSONEncoder writes Data: Base64 with padding.
    public func optionalBase64(_ key: String) throws(Mismatch) -> [UInt8]? {
      guard let present = member(key) else { return nil }
      guard let text = present.string, let bytes = Base64.decode(text) else { throw mismatch(key, "Base64 text") }
      return bytes
    }
  }
}
