import FoundationEssentials
import HopsCore
import Testing

/// Base64 read by hand against Foundation's encoder, and texts it must refuse.
@Suite struct Base64Tests {
  @Test func readsWhatFoundationWrote() {
    for length in 0..<70 {
      let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 37 + length) }
      #expect(Base64.decode(Data(bytes).base64EncodedString()) == bytes, "\(length) bytes")
    }
  }

  @Test(arguments: ["A", "AB", "ABC", "A===", "AB=C", "=AAA", "AQ==AQ==", "AQ-_", "AQ= ", "\nAQ==", "QR==", "QUJ="])
  func refusesWhatIsNotBase64(_ text: String) {
    #expect(Base64.decode(text) == nil)
  }
}

@Suite struct Base64WritingTests {
  @Test func writesWhatFoundationWrites() {
    for length in 0..<70 {
      let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 53 + 7) }
      #expect(Base64.encode(bytes) == Data(bytes).base64EncodedString(), "\(length) bytes")
      #expect(Base64.decode(Base64.encode(bytes)) == bytes)
    }
  }
}
