import FoundationEssentials
import HopsCore
import Testing

/// The hand-written JSON reader against JSONEncoder's output and against
/// texts that JSON does not allow.
@Suite struct JSONValueTests {
  static let texts = [
    "", "plain", "quote \" backslash \\ slash /", "controls \u{00}\u{01}\u{08}\u{0C}\n\r\t\u{1F}\u{7F}",
    "é ü 漢字 🙂 \u{10FFFF}", "\u{2028}\u{2029}",
  ]

  @Test(arguments: texts) func readsStringsJSONEncoderWrote(_ text: String) throws {
    let written = try JSONEncoder().encode([text])
    #expect(try JSONValue(parsing: Array(written)) == .array([.string(text)]))
  }

  @Test(arguments: texts) func readsStringsJSONTextWrote(_ text: String) throws {
    #expect(try JSONValue(parsing: JSONText.quoted(text)) == .string(text))
  }

  @Test func readsEveryKindOfValue() throws {
    let value = try JSONValue(parsing: #" { "a" : [1, -0.5e+3, 0, true, false, null, {}, []], "b": "\u00e9\ud83d\ude42" } "#)
    #expect(value["a"] == .array([.number("1"), .number("-0.5e+3"), .number("0"), .bool(true), .bool(false), .null, .object([]), .array([])]))
    #expect(value["b"]?.string == "é🙂")
    #expect(value["a"]?.array?[1].double == -500)
    #expect(value["missing"] == nil)
  }

  @Test func readsIntegersExactly() throws {
    let value = try JSONValue(parsing: "[18446744073709551615, -9223372036854775808, 1.5, 1e3, 18446744073709551616, -1]")
    #expect(value.array?[0].uint64 == UInt64.max)
    #expect(value.array?[0].int64 == nil)
    #expect(value.array?[1].int64 == Int64.min)
    #expect(value.array?[2].int64 == nil)
    #expect(value.array?[3].int64 == nil)
    #expect(value.array?[4].uint64 == nil)
    #expect(value.array?[5].uint64 == nil)
    #expect(value.array?[5].int64 == -1)
  }

  @Test func theLastOfARepeatedKeyCounts() throws {
    let value = try JSONValue(parsing: #"{"a": 1, "b": 2, "a": 3}"#)
    #expect(value["a"] == .number("3"))
    #expect(value.onlyMember == nil)
    let repeated = try JSONValue(parsing: #"{"exit": 1, "exit": 2}"#)
    #expect(repeated.onlyMember?.key == "exit")
    #expect(repeated.onlyMember?.value == .number("2"))
  }

  @Test func aNumberBeyondDoubleIsNotADouble() throws {
    #expect(try JSONValue(parsing: "1e400").double == nil)
    #expect(try JSONValue(parsing: "-1e400").double == nil)
    #expect(try JSONValue(parsing: "1e-400").double == 0)
  }

  static let malformed = [
    "", " ", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "01", "-", "1.", "1e", ".5", "+1", "tru", "nul",
    "\"open", "\"bad \\x escape\"", "\"\\u12\"", "\"\\u+fff\"", "\"\\ud800\"", "\"\\ud800\\u0041\"", "\"\\udc00\"",
    "\"tab\tinside\"", "[1] [2]", "'single'", "NaN", "[1 2]", "{\"a\":1 \"b\":2}",
    String(repeating: "[", count: 65) + String(repeating: "]", count: 65),
  ]

  @Test(arguments: malformed) func refusesWhatJSONDoesNotAllow(_ text: String) {
    #expect(throws: JSONValue.Malformed.self) { try JSONValue(parsing: text) }
  }

  @Test func refusesInvalidUTF8() {
    #expect(throws: JSONValue.Malformed.self) { try JSONValue(parsing: [0x22, 0xff, 0xfe, 0x22]) }
  }

  @Test func acceptsTheDeepestNestingAllowed() throws {
    let depth = JSONValue.maximumDepth
    let text = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
    _ = try JSONValue(parsing: text)
  }
}
