import Foundation

/// The shared libraries a host program loads, as the host's dynamic loader resolves them. Used to carry the
/// host's proot into a runc container (R2/R3), whose guest may have no compatible libraries at all.
public struct LibraryClosure: Sendable, Equatable {
    /// The program's interpreter on the host, e.g. /lib64/ld-linux-x86-64.so.2 (resolved to its real path).
    public var loader: String
    public struct Library: Sendable, Equatable {
        /// The name the program asks for (its soname), e.g. libtalloc.so.2.
        public var name: String
        /// Where the host keeps it (real path).
        public var path: String
    }
    public var libraries: [Library]

    public static func of(_ program: String) throws -> LibraryClosure? {
        guard let elf = ElfFile(path: program) else { return nil }
        guard let interpreter = elf.interpreter else { return LibraryClosure(loader: "", libraries: []) }
        let result = try Subprocess.run([interpreter, "--list", program], environment: [])
        guard result.succeeded else { return nil }
        return LibraryClosure(loader: realPath(interpreter), libraries: parse(ldList: result.output).map { Library(name: $0.name, path: realPath($0.path)) })
    }

    /// Lines such as `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)`; the loader's own line is skipped.
    public static func parse(ldList: String) -> [(name: String, path: String)] {
        ldList.split(separator: "\n").compactMap { line in
            guard let arrow = line.range(of: " => ") else { return nil }
            let name = line[..<arrow.lowerBound].trimmingCharacters(in: .whitespaces)
            let path = line[arrow.upperBound...].split(separator: " ").first.map(String.init) ?? ""
            return path.hasPrefix("/") ? (name, path) : nil
        }
    }

    static func realPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
