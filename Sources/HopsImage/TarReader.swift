import HopsCore
import HopsOS

/// One entry of a tar archive, with PAX and GNU long-name extensions applied.
public struct TarEntry: Sendable, Equatable {
  public enum Kind: Sendable, Equatable {
    case file, directory, symlink, hardlink, characterDevice, blockDevice, fifo
  }
  public var path: String
  public var kind: Kind
  public var mode: UInt32
  public var uid: UInt32
  public var gid: UInt32
  public var size: Int
  public var modificationTime: Int
  public var linkTarget: String
}

/// Streams a tar archive (ustar, PAX and GNU formats; plain or gzip), one entry at
/// a time; the caller reads each file's data before asking for the next entry.
public final class TarReader {
  private let file: CompressedFile
  private var pendingData = 0
  private var pendingPadding = 0
  private var globalPax: [String: String] = [:]

  public init(path: String) throws {
    do { file = try CompressedFile(path: path) } catch {
      throw HopsError.notFound("cannot open \(path): \(errnoString(error.errno))")
    }
  }

  /// The next entry, or nil at the end of the archive.
  public func next() throws -> TarEntry? {
    try skip(pendingData + pendingPadding)
    pendingData = 0
    pendingPadding = 0
    var pax: [String: String] = [:]
    var longName: String?
    var longLink: String?
    while true {
      guard let header = try readBlock(), !header.allSatisfy({ $0 == 0 }) else { return nil }
      guard Self.checksumMatches(header) else {
        throw HopsError.invalid("\(file.path) is not a tar archive (bad header checksum)")
      }
      let type = header[156]
      let size = try Self.number(header, 124, 12)
      switch type {
      case UInt8(ascii: "x"), UInt8(ascii: "g"):
        let records = try Self.parsePax(try readData(size))
        if type == UInt8(ascii: "x") { pax.merge(records) { $1 } } else { globalPax.merge(records) { $1 } }
        continue
      case UInt8(ascii: "L"):
        longName = Self.cString(try readData(size))
        continue
      case UInt8(ascii: "K"):
        longLink = Self.cString(try readData(size))
        continue
      default: break
      }
      let attributes = globalPax.merging(pax) { $1 }
      var name = Self.string(header, 0, 100)
      let prefix = Self.string(header, 345, 155)
      if Array(header[257..<262]) == Array("ustar".utf8), !prefix.isEmpty { name = prefix + "/" + name }
      let kind: TarEntry.Kind
      switch type {
      case UInt8(ascii: "0"), 0, UInt8(ascii: "7"): kind = .file
      case UInt8(ascii: "1"): kind = .hardlink
      case UInt8(ascii: "2"): kind = .symlink
      case UInt8(ascii: "3"): kind = .characterDevice
      case UInt8(ascii: "4"): kind = .blockDevice
      case UInt8(ascii: "5"): kind = .directory
      case UInt8(ascii: "6"): kind = .fifo
      default:
        throw HopsError.invalid("\(file.path): unsupported tar entry type '\(Character(UnicodeScalar(type)))' for \(name)")
      }
      let headerUID = try Self.number(header, 108, 8)
      let headerGID = try Self.number(header, 116, 8)
      let headerMTime = try Self.number(header, 136, 12)
      let path = attributes["path"] ?? longName ?? name
      let linkTarget = attributes["linkpath"] ?? longLink ?? Self.string(header, 157, 100)
      // Hostile values must become errors, never traps: a crashed daemon would
      // end every running sandbox.
      guard !path.utf8.contains(0), !linkTarget.utf8.contains(0) else {
        throw HopsError.invalid("\(file.path): an entry name contains a NUL byte")
      }
      guard let uid = UInt32(exactly: attributes["uid"].flatMap { Int($0) } ?? headerUID),
        let gid = UInt32(exactly: attributes["gid"].flatMap { Int($0) } ?? headerGID),
        let mode = UInt32(exactly: try Self.number(header, 100, 8))
      else { throw HopsError.invalid("\(file.path): \(path) has an out-of-range owner or mode") }
      let entrySize = attributes["size"].flatMap { Int($0) } ?? size
      guard entrySize >= 0, entrySize < 1 << 56 else { throw HopsError.invalid("\(file.path): \(path) has an impossible size") }
      let mtime = attributes["mtime"].flatMap { Double($0) }.flatMap { $0.isFinite && abs($0) < 1e15 ? Int($0) : nil } ?? headerMTime
      var entry = TarEntry(
        path: path, kind: kind, mode: mode, uid: uid, gid: gid, size: entrySize,
        modificationTime: mtime, linkTarget: linkTarget)
      if entry.kind == .directory && entry.path.hasSuffix("/") == false { entry.path += "/" }
      let dataSize = (kind == .file) ? entry.size : (kind == .hardlink || kind == .symlink ? 0 : entry.size)
      pendingData = dataSize
      pendingPadding = (512 - dataSize % 512) % 512
      return entry
    }
  }

  /// Streams the current entry's data to `sink` in chunks.
  public func readContents(_ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
    var buffer = [UInt8](repeating: 0, count: 256 * 1024)
    while pendingData > 0 {
      let want = min(pendingData, buffer.count)
      let got = try buffer.withUnsafeMutableBytes { raw in
        try readFully(UnsafeMutableRawBufferPointer(rebasing: raw[0..<want]))
      }
      guard got == want else { throw HopsError.invalid("\(file.path): archive ends in the middle of a file") }
      try buffer.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[0..<want])) }
      pendingData -= want
    }
  }

  // MARK: - Blocks and fields

  private func readFully(_ buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    do { return try file.read(into: buffer) } catch {
      throw HopsError.invalid("cannot read \(file.path): \(error)")
    }
  }

  private func readBlock() throws -> [UInt8]? {
    var block = [UInt8](repeating: 0, count: 512)
    let n = try block.withUnsafeMutableBytes { try readFully($0) }
    if n == 0 { return nil }
    guard n == 512 else { throw HopsError.invalid("\(file.path): truncated tar archive") }
    return block
  }

  private func readData(_ size: Int) throws -> [UInt8] {
    guard size <= 1 << 20 else { throw HopsError.invalid("\(file.path): oversized tar extension header") }
    var data = [UInt8](repeating: 0, count: size)
    let n = try data.withUnsafeMutableBytes { try readFully($0) }
    guard n == size else { throw HopsError.invalid("\(file.path): truncated tar archive") }
    try skip((512 - size % 512) % 512)
    return data
  }

  private func skip(_ count: Int) throws {
    var remaining = count
    var scratch = [UInt8](repeating: 0, count: min(max(count, 1), 256 * 1024))
    while remaining > 0 {
      let want = min(remaining, scratch.count)
      let n = try scratch.withUnsafeMutableBytes { try readFully(UnsafeMutableRawBufferPointer(rebasing: $0[0..<want])) }
      guard n == want else { throw HopsError.invalid("\(file.path): truncated tar archive") }
      remaining -= n
    }
  }

  static func checksumMatches(_ header: [UInt8]) -> Bool {
    guard let stored = try? number(header, 148, 8) else { return false }
    var sum = 0
    for (i, byte) in header.enumerated() { sum += (148..<156).contains(i) ? 32 : Int(byte) }
    return sum == stored
  }

  /// Octal, or base-256 when the high bit of the first byte is set (GNU, for big values).
  static func number(_ header: [UInt8], _ offset: Int, _ length: Int) throws -> Int {
    let field = header[offset..<offset + length]
    if let first = field.first, first & 0x80 != 0 {
      // Base-256; anything that would not fit in 56 bits is refused, never wrapped.
      guard first == 0x80, field.dropFirst().prefix(length - 8).allSatisfy({ $0 == 0 }) else {
        throw HopsError.invalid("out-of-range number in tar header")
      }
      var value = 0
      for byte in field.suffix(7) { value = value << 8 | Int(byte) }
      return value
    }
    var value = 0
    for byte in field {
      if byte == 0 || byte == 32 { if value > 0 { break } else { continue } }
      guard (48...55).contains(byte), value < 1 << 56 else { throw HopsError.invalid("bad number in tar header") }
      value = value * 8 + Int(byte - 48)
    }
    return value
  }

  static func string(_ header: [UInt8], _ offset: Int, _ length: Int) -> String {
    cString(Array(header[offset..<offset + length]))
  }

  static func cString(_ bytes: [UInt8]) -> String {
    let end = bytes.firstIndex(of: 0) ?? bytes.count
    return String(decoding: bytes[..<end], as: UTF8.self)
  }

  /// PAX records: "<length> <key>=<value>\n".
  static func parsePax(_ data: [UInt8]) throws -> [String: String] {
    var result: [String: String] = [:]
    var index = 0
    while index < data.count {
      guard let space = data[index...].firstIndex(of: 32),
        let length = Int(String(decoding: data[index..<space], as: UTF8.self)),
        length > space - index + 1, index + length <= data.count, data[index + length - 1] == 10
      else { throw HopsError.invalid("malformed PAX header in tar archive") }
      let record = data[(space + 1)..<(index + length - 1)]
      if let eq = record.firstIndex(of: UInt8(ascii: "=")) {
        result[String(decoding: record[..<eq], as: UTF8.self)] = String(decoding: record[(eq + 1)...], as: UTF8.self)
      }
      index += length
    }
    return result
  }
}
