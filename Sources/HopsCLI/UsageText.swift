import HopsAPI
import HopsDirectRun

/// Usage figures as people read them.
enum UsageText {
  /// "wall 1.20 s, CPU 0.53 s, peak memory 12.4 MiB, peak processes 3"
  static func summary(_ usage: Hops_V1_Usage) -> String {
    "wall \(seconds(usage.wallSeconds)), CPU \(seconds(usage.cpuSeconds)), "
      + "peak memory \(bytes(usage.peakMemoryBytes)), peak processes \(usage.peakProcesses)"
  }

  /// The same for a direct run's exit.
  static func summary(_ exit: DirectRunExit) -> String {
    summary(.with {
      $0.wallSeconds = exit.wallSeconds
      $0.cpuSeconds = exit.cpuSeconds
      $0.peakMemoryBytes = exit.peakMemoryBytes
      $0.peakProcesses = Int32(clamping: exit.peakProcesses)
    })
  }

  static func seconds(_ value: Double) -> String {
    let hundredths = Int((value * 100).rounded())
    return "\(hundredths / 100).\(String(repeating: "0", count: hundredths % 100 < 10 ? 1 : 0))\(hundredths % 100) s"
  }

  static func bytes(_ value: UInt64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var amount = Double(value)
    var unit = 0
    while amount >= 1024 && unit < units.count - 1 {
      amount /= 1024
      unit += 1
    }
    if unit == 0 { return "\(value) B" }
    let tenths = Int((amount * 10).rounded())
    return "\(tenths / 10).\(tenths % 10) \(units[unit])"
  }
}
