import CNetfilter
import HopsCore

/// The daemon's nftables scripts, run in its own process with libnftables (see
/// nftables.c) in nft's own syntax: each script is one transaction.
enum NFTables {
  /// Runs `script`; a failure says what could not be done, with nft's reason.
  static func run(_ script: String, what: String) throws {
    var message = [CChar](repeating: 0, count: 1024)
    guard hops_nft_run(script, &message, message.count) == 0 else {
      let reason = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
      throw HopsError.failed("cannot \(what): \(reason.trimmed)")
    }
  }

  /// Runs `script` where failing is fine (removing what may be gone already);
  /// says whether it went through.
  @discardableResult
  static func attempt(_ script: String) -> Bool {
    (try? run(script, what: "")) != nil
  }
}
