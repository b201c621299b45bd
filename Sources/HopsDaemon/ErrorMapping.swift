import GRPCCore
import HopsCore
import HopsOS

/// The daemon's edge: every error leaves as an RPCError whose message is what the
/// CLI shows the user.
extension RPCError {
  init(_ error: any Error) {
    switch error {
    case let error as RPCError:
      self = error
    case let error as HopsError:
      let code: RPCError.Code =
        switch error.kind {
        case .invalidArgument: .invalidArgument
        case .notFound: .notFound
        case .alreadyExists: .alreadyExists
        case .unavailable: .failedPrecondition
        case .failed: .internalError
        }
      self = RPCError(code: code, message: error.description)
    case let error as SyscallError:
      self = RPCError(code: .internalError, message: error.description)
    default:
      self = RPCError(code: .internalError, message: "\(error)")
    }
  }
}

/// Runs `body`, converting any error into an RPCError.
func mappingErrors<T>(_ body: () async throws -> T) async throws -> T {
  do { return try await body() } catch { throw RPCError(error) }
}
