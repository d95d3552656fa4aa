import UdockerCLI

UdockerMain.run()
