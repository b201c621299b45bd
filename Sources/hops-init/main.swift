import HopsInit

// `hops-init --zygote`: the daemon's zygote, which returns here in each child
// it forks, ready to go on as a sandbox's hops-init (see Zygote).
if CommandLine.argc > 1, let first = CommandLine.unsafeArgv[1], String(cString: first) == Zygote.argument {
  Zygote.serve()
}
InitProcess.main()
