/// Text a C function wrote into a buffer of ours (a message, say), up to its
/// terminating NUL.
public enum CText {
  public static func string(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }
}
