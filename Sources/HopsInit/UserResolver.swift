import FoundationEssentials

/// An image's `User` ("1000", "1000:100", "app", "app:staff") as uid and gid,
/// looked up in the sandbox's own /etc/passwd and /etc/group.
public enum UserResolver {
  public struct Failure: Error, CustomStringConvertible {
    public let description: String
  }

  public static func resolve(_ spec: String, passwd: String, group: String) throws -> (uid: UInt32, gid: UInt32) {
    let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
    let userPart = parts[0]
    let users = passwd.split(separator: "\n").map { $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init) }
      .filter { $0.count >= 4 }
    let uid: UInt32
    var gid: UInt32
    if let number = UInt32(userPart) {
      uid = number
      gid = users.first { $0[2] == userPart }.flatMap { UInt32($0[3]) } ?? number
    } else if let entry = users.first(where: { $0[0] == userPart }), let u = UInt32(entry[2]), let g = UInt32(entry[3]) {
      uid = u
      gid = g
    } else {
      throw Failure(description: "user '\(userPart)' is not in the image's /etc/passwd")
    }
    if parts.count == 2 {
      if let number = UInt32(parts[1]) {
        gid = number
      } else {
        let groups = group.split(separator: "\n").map { $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init) }
        guard let entry = groups.first(where: { $0.count >= 3 && $0[0] == parts[1] }), let g = UInt32(entry[2]) else {
          throw Failure(description: "group '\(parts[1])' is not in the image's /etc/group")
        }
        gid = g
      }
    }
    return (uid, gid)
  }
}
