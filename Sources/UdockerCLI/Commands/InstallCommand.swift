import ArgumentParser
import Foundation
import UdockerCore

struct InstallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install", _superCommandName: "udocker",
        abstract: "Install the engine tools (proot, patchelf, runc, libfakechroot) into the repository.",
        discussion: """
        The tools come from --tarball, else UDOCKER_TARBALL (udocker 1.3's), else the bundle udocker runs from.
        Run from the portable bundle, it first points the bundle's programs at the bundle's own glibc loader
        (the bundle's ./install script does exactly that: run it again after moving the bundle).
        """)

    @Option(name: .customLong("tarball"), help: "Tools tarball in udocker 1.3's layout (udocker_dir/bin, lib, doc): FILE or URL.")
    var tarball: String?
    @Flag(name: .customLong("force"), help: "Install even where the tools are already installed (accepted for udocker 1.3).")
    var force = false
    @Flag(name: .customLong("purge"), help: "Remove the repository's bin/, lib/ and doc/ contents first.")
    var purge = false

    func run() throws {
        let context = try Context.get()
        let bundle = Bundle.current()
        if let bundle {
            try bundle.relocate()
            Output.stdout("Info: udocker bundle at \(bundle.root) set up: add \(bundle.root)/bin to PATH\n")
        }
        let installer = EngineTarball(repository: context.repository)
        if purge { try installer.purge() }
        let source = tarball ?? context.config["tarball"] ?? bundle.map(\.toolsTarball)
        guard let source else {
            Output.stdout("Info: no tools tarball (give --tarball or set UDOCKER_TARBALL): installation skipped\n")
            return
        }
        let file = source.contains("://")
            ? try installer.download(source, options: RegistryAccess.settings(context).transfer) : source
        defer { if file != source { unlink(file) } }
        let written = try installer.install(file)
        Output.stdout("Info: installed \(written.count) files from \(source) into \(context.repository.topDir)\n")
    }
}
