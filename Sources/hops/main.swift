import HopsCLI

await HopsCommand.main()
