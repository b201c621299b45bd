import Foundation
import FoundationNetworking
import Glibc
import HopsCore
import HopsOS

/// Downloads straight into a file the caller names, hashing as the bytes arrive.
///
/// Why not `URLSession.download(for:)`: on Linux it writes into a file of its
/// own in `$TMPDIR` and, when the transfer fails (a cut connection, a declined
/// login), gives no name back, so nobody can remove it: every failed pull left
/// a file in /tmp. Here the body goes through a data task's delegate into the
/// caller's file, which the caller removes whatever happens.
///
/// It is the session's delegate, so it also answers basic-auth challenges.
/// (One class: a subclass's delegate methods would go unheard, since Swift
/// binds a protocol's requirements where the conformance is declared.)
final class BlobDownloads: NSObject, URLSessionDataDelegate, @unchecked Sendable {
  /// What a finished download gives back: the response and the body's SHA-256.
  struct Finished {
    var response: URLResponse
    var sha256: String
  }

  /// One transfer under way: where its bytes go and who waits for it.
  private final class Transfer {
    let fd: Int32
    let hasher = SHA256Hasher()
    let waiter: CheckedContinuation<Finished, Error>
    var failure: Error?

    init(fd: Int32, waiter: CheckedContinuation<Finished, Error>) {
      self.fd = fd
      self.waiter = waiter
    }
  }

  private var transfers: [Int: Transfer] = [:]
  private let lock = NSLock()

  /// Sends `request` on `session` (whose delegate must be this object) and
  /// writes the body, whatever the status, into `path`, which must not exist.
  /// The caller removes `path` when it does not keep it.
  func download(_ request: URLRequest, on session: URLSession, into path: String) async throws -> Finished {
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw HopsError.failed("cannot create \(path): \(errnoString(errno))") }
    let task = session.dataTask(with: request)
    return try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { waiter in
        lock.withLock { transfers[task.taskIdentifier] = Transfer(fd: fd, waiter: waiter) }
        task.resume()
      }
    } onCancel: {
      task.cancel()
    }
  }

  func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
    guard let transfer = lock.withLock({ transfers[dataTask.taskIdentifier] }), transfer.failure == nil else { return }
    do {
      try data.withUnsafeBytes { bytes in
        try FD.writeAll(transfer.fd, bytes)
        transfer.hasher.update(bytes)
      }
    } catch {
      // A full disk, say: stop the transfer; its end reports this error.
      transfer.failure = (error as? SyscallError)?.asHopsError ?? error
      dataTask.cancel()
    }
  }

  func urlSession(
    _ session: URLSession, task: URLSessionTask, didReceive challenge: URLAuthenticationChallenge,
    completionHandler: @escaping (URLSession.AuthChallengeDisposition, URLCredential?) -> Void
  ) {
    if let credential = BasicAuthAnswer.credential(for: challenge) {
      completionHandler(.useCredential, credential)
    } else {
      completionHandler(.cancelAuthenticationChallenge, nil)
    }
  }

  func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
    guard let transfer = lock.withLock({ transfers.removeValue(forKey: task.taskIdentifier) }) else { return }
    FD.close(transfer.fd)
    if let failure = transfer.failure ?? error {
      transfer.waiter.resume(throwing: failure)
    } else if let response = task.response {
      transfer.waiter.resume(returning: Finished(response: response, sha256: transfer.hasher.finish()))
    } else {
      transfer.waiter.resume(throwing: HopsError.failed("the registry closed the connection without a response"))
    }
  }
}
