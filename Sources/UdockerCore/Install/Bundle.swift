import Foundation

/// The portable bundle (`make bundle`): wherever it is unpacked,
///
///     ROOT/bin/udocker, ROOT/bin/udocker-launch    interpreter ROOT/lib/ld-linux-x86-64.so.2, RPATH $ORIGIN/../lib
///     ROOT/lib/                                    every library they load (glibc included), libcurl and libarchive
///     ROOT/share/udocker/udocker-tools.tar.gz      the engine tools, for `udocker install`
///     ROOT/install                                 runs ROOT/bin/udocker install through the bundle's loader
///
/// `udocker install` run from it points the two programs at ROOT's loader, then installs the tools.
public struct Bundle: Sendable {
    public let root: String

    public var loader: String { root + "/lib/" + EngineTarball.loaderName }
    public var programs: [String] { ["udocker", "udocker-launch"].map { root + "/bin/" + $0 } }
    public var toolsTarball: String { root + "/share/udocker/udocker-tools.tar.gz" }

    /// The bundle this process runs from, if any. /proc/self/exe is ROOT/bin/udocker, or ROOT/lib's loader when the
    /// install script started the program through it: either way ROOT is two levels up.
    public static func current() -> Bundle? {
        guard let exe = FileSystem.readLink("/proc/self/exe") else { return nil }
        let bundle = Bundle(root: Paths.dirname(Paths.dirname(exe)))
        return FileSystem.isFile(bundle.loader) && FileSystem.isFile(bundle.programs[0]) ? bundle : nil
    }

    /// Points the bundle's programs at its own loader (after unpacking, or after the bundle moved).
    public func relocate() throws {
        for program in programs where FileSystem.isFile(program) { try ProgramInterpreter.set(program, to: loader) }
    }
}
