import HopsDaemon

await DaemonCommand.main()
