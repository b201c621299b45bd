import CHostNetwork
import HopsCore
import HopsOS

/// The daemon's nftables scripts, run in its own process with libnftables (see
/// nftables.c) in nft's own syntax: each script is one transaction.
enum NFTables {
  /// Why libnftables cannot be used here, or nil when it can.
  static var unavailable: String? {
    var message = [CChar](repeating: 0, count: 512)
    return hops_nft_available(&message, message.count) != 0 ? nil : CText.string(message)
  }

  /// Runs `script`; a failure says what could not be done, with nft's reason.
  static func run(_ script: String, what: String) throws {
    var message = [CChar](repeating: 0, count: 1024)
    guard hops_nft_run(script, &message, message.count) == 0 else {
      throw HopsError.failed("cannot \(what): \(CText.string(message).trimmed)")
    }
  }

  /// Runs `script` where failing is fine (removing what may be gone already);
  /// says whether it went through.
  @discardableResult
  static func attempt(_ script: String) -> Bool {
    (try? run(script, what: "")) != nil
  }
}
