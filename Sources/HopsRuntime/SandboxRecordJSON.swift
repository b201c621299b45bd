import HopsCore

// A sandbox's record is saved at every launch, before its command starts, and
// again when it ends: written by hand (JSONText), since JSONEncoder took about
// 0.1 ms of each launch. Read back with JSONDecoder (SandboxRecord.load), in
// the synthesized Codable layout; a unit test checks the two agree.

extension SandboxRecord {
  public var json: String {
    func text(_ value: String?) -> String? { value.map(JSONText.quoted) }
    func strings(_ value: [String]?) -> String? { value.map { JSONText.array($0) } }
    func number(_ value: Double?) -> String? { value.map(JSONText.number) }
    func integer<T: BinaryInteger>(_ value: T?) -> String? { value.map { "\($0)" } }
    var members: [(String, String?)] = []
    members.reserveCapacity(26)
    members.append(("address", text(address)))
    members.append(("allowNet", strings(allowNet)))
    members.append(("command", JSONText.array(command)))
    members.append(("cpuSeconds", number(cpuSeconds)))
    members.append(("createdAt", JSONText.number(createdAt)))
    members.append(("environment", strings(environment)))
    members.append(("exitCode", integer(exitCode)))
    members.append(("exitMessage", text(exitMessage)))
    members.append(("exitSignal", integer(exitSignal)))
    members.append(("finishedAt", number(finishedAt)))
    members.append(("hostname", text(hostname)))
    members.append(("id", JSONText.quoted(id)))
    members.append(("initPid", "\(initPid)"))
    members.append(("keep", JSONText.bool(keep)))
    members.append(("kind", JSONText.quoted(kind.rawValue)))
    members.append(("limits", limits?.json))
    members.append(("name", text(name)))
    members.append(("network", text(network)))
    members.append(("peakMemoryBytes", integer(peakMemoryBytes)))
    members.append(("profile", text(profile)))
    members.append(("publish", strings(publish)))
    members.append(("rootfs", JSONText.quoted(rootfs)))
    members.append(("user", text(user)))
    members.append(("workingDirectory", text(workingDirectory)))
    members.append(("workspace", text(workspace)))
    members.append(("workspaceMode", text(workspaceMode)))
    return JSONText.object(members)
  }
}

extension SandboxRecord.Limits {
  var json: String {
    JSONText.object([
      ("cpus", cpus.map(JSONText.number)), ("cpuset", cpuset.map(JSONText.quoted)),
      ("maxProcesses", maxProcesses.map { String($0) }), ("memoryBytes", memoryBytes.map { String($0) }),
      ("timeoutSeconds", timeoutSeconds.map(JSONText.number)),
    ])
  }
}
