import ArgumentParser
import FoundationEssentials
import GRPCCore
import Glibc
import HopsCore

extension Console {
  /// A chunk of a sandbox's output, as it came.
  static func write(_ fd: Int32, _ data: Data) {
    var bytes = Array(data)
    write(fd, &bytes)
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
