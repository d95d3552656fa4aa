import UdockerCLI

LaunchMain.run()
