import ArgumentParser
import Foundation
import UdockerCore

struct PsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ps", _superCommandName: "udocker",
        abstract: "List containers.")

    @Flag(name: .customShort("m"), help: "Print the execution mode.") var mode = false
    @Flag(name: .customShort("s"), help: "Print the size in MB.") var size = false
    @Flag(name: .customShort("p"), help: "Print the platform.") var platform = false

    func run() throws {
        let context = try Context.get()
        let store = context.containers
        var header = Format.pad("CONTAINER ID", 36) + " P M "
        if mode { header += "MOD " }
        if size { header += "SIZE " }
        if platform { header += "PLATFORM           " }
        Output.stdout(header + Format.pad("NAMES", 18) + " " + Format.pad("IMAGE", 20) + "\n")
        for info in try store.list() {
            var line = Format.pad(info.id, 36, truncate: true) + " " + (info.isProtected ? "P" : ".") + " " + (info.isWritable ? "W" : "R") + " "
            // udocker 1.3's formats: "%2.2s " mode, "%5.5s " size (right-aligned), "%-18.100s %-20.100s" names, image.
            if mode { line += Format.padLeft(String((info.execMode ?? context.config["default_execution_mode"] ?? "P1").prefix(2)), 2) + " " }
            if size { line += Format.padLeft(String(String(DiskUsage.megabytes(context.repository.containerRoot(info.id))).prefix(5)), 5) + " " }
            if platform { line += Format.pad((try? store.imageConfig(info.id).platform) ?? "unknown/unknown", 18, truncate: true) + " " }
            let names = "[" + info.names.map { "'\($0)'" }.joined(separator: ", ") + "]"
            line += Format.pad(String((info.names.isEmpty ? "" : names).prefix(100)), 18) + " " + Format.pad(String(info.imageName.prefix(100)), 20)
            Output.stdout(line + "\n")
        }
    }
}

/// `du -s -m -x` equivalent without following links or crossing into other file systems.
enum DiskUsage {
    static func megabytes(_ path: String) -> Int {
        var total: Int64 = 0
        var rootStat = stat()
        guard lstat(path, &rootStat) == 0 else { return -1 }
        func walk(_ dir: String) {
            guard let names = try? FileSystem.list(dir) else { return }
            for name in names {
                let child = dir + "/" + name
                var st = stat()
                guard lstat(child, &st) == 0 else { continue }
                total += Int64(st.st_blocks) * 512
                if (st.st_mode & S_IFMT) == S_IFDIR && st.st_dev == rootStat.st_dev { walk(child) }
            }
        }
        walk(path)
        return Int((total + (1 << 20) - 1) >> 20)
    }
}
