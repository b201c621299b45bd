import Foundation
import FoundationNetworking

/// The answer to an HTTP basic-auth challenge: the credentials Docker's config
/// holds for that host, or none (the pull then says a login is needed).
enum BasicAuthAnswer {
  static func credential(for challenge: URLAuthenticationChallenge) -> URLCredential? {
    let space = challenge.protectionSpace
    let registry = space.port == 443 || space.port == 80 ? space.host : "\(space.host):\(space.port)"
    guard challenge.previousFailureCount == 0, space.authenticationMethod == NSURLAuthenticationMethodHTTPBasic,
      let encoded = RegistryClient.credentials(for: registry), let data = Data(base64Encoded: encoded),
      let pair = String(data: data, encoding: .utf8), let colon = pair.firstIndex(of: ":")
    else { return nil }
    return URLCredential(user: String(pair[..<colon]), password: String(pair[pair.index(after: colon)...]), persistence: .forSession)
  }
}
