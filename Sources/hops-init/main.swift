import HopsInit

InitProcess.main()
