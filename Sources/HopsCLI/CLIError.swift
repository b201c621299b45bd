import ArgumentParser
import FoundationEssentials
import GRPCCore
import Glibc
import HopsCore

/// Exit codes of Hops' own failures (DESIGN.md, "Exit codes of hops run").
enum ExitCodes {
  /// Hops itself failed: bad flag, bad input, no daemon.
  static let hopsFailure: Int32 = 125
}

/// Writes to stderr without buffering, so messages and the sandbox's own stderr
/// keep their order.
enum Console {
  static func error(_ text: String) { write(2, text.hasSuffix("\n") ? text : text + "\n") }

  static func write(_ fd: Int32, _ text: String) {
    var bytes = Array(text.utf8)
    write(fd, &bytes)
  }

  /// A chunk of a sandbox's output, as it came.
  static func write(_ fd: Int32, _ data: Data) {
    var bytes = Array(data)
    write(fd, &bytes)
  }

  static func write(_ fd: Int32, _ bytes: inout [UInt8]) {
    var offset = 0
    while offset < bytes.count {
      let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
      if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { return }
    }
  }
}

/// The CLI's edge: any error becomes one line on stderr and exit code 125.
func reportingErrors<T>(_ body: () async throws -> T) async throws -> T {
  do {
    return try await body()
  } catch let error as ExitCode {
    throw error
  } catch let error as HopsError {
    Console.error("hops: \(error.description)")
    throw ExitCode(ExitCodes.hopsFailure)
  } catch let error as RPCError {
    Console.error("hops: \(error.message)")
    throw ExitCode(ExitCodes.hopsFailure)
  } catch {
    Console.error("hops: \(error)")
    throw ExitCode(ExitCodes.hopsFailure)
  }
}
