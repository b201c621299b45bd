import FoundationEssentials

@testable import HopsInit

enum JSONEncoderForTests {
  static func encode(_ plan: LaunchPlan) throws -> Data { try JSONEncoder().encode(plan) }
}
enum JSONDecoderForTests {
  static func decode(_ data: Data) throws -> LaunchPlan { try JSONDecoder().decode(LaunchPlan.self, from: data) }
}
