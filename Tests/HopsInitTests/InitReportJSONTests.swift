import FoundationEssentials
import Testing

@testable import HopsInit

/// hops-init writes its reports by hand; the daemon reads them by hand too.
/// Every case, and messages that need escaping, must come back as they were,
/// and read the same as JSONEncoder's own output and JSONDecoder's reading.
@Suite struct InitReportJSONTests {
  static let reports: [InitReport] = [
    .started(pid: 2), .terminal, .exited(code: 0, signal: 0), .exited(code: 137, signal: 9),
    .failed(code: 127, message: "/no/such: no such file or directory"),
    .failed(code: 125, message: "quote \" backslash \\ newline \n tab \t bell \u{07} nul \u{00} é ✓ 🚀"),
    .execStarted(id: 3, pid: 41), .execTerminal(id: 4), .execExited(id: 5, code: -1, signal: 15),
    .execFailed(id: 6, code: 126, message: "\u{1F}line\r\nnext"),
  ]

  @Test(arguments: reports) func readsBackAsWritten(_ report: InitReport) throws {
    let decoded = try JSONDecoder().decode(InitReport.self, from: Data(report.json.utf8))
    #expect(decoded == report)
    let fromEncoder = try JSONDecoder().decode(InitReport.self, from: JSONEncoder().encode(report))
    #expect(fromEncoder == decoded)
    #expect(try InitReport(json: Array(report.json.utf8)) == report)
    #expect(try InitReport(json: Array(try JSONEncoder().encode(report))) == report)
  }

  @Test func refusesWhatIsNoReport() {
    for text in [#"{"stopped":{}}"#, #"{"exited":{"code":0}}"#, #"{"started":{"pid":"1"}}"#, "[]", #"{"a":{},"b":{}}"#] {
      #expect(throws: (any Error).self, "\(text)") { try InitReport(json: Array(text.utf8)) }
    }
  }
}
