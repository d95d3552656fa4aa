import Foundation

/// F3/F4: points every dynamically linked program in ROOT at the container's loader (PT_INTERP) and library
/// directories (DT_RPATH) by absolute host paths, using patchelf. Each file's original interpreter and search
/// path are kept in `patch.list`, so the patch can be undone (P/R modes, --purge) or redone for a new ROOT
/// (`setup --force` after a move) from the originals.
public struct ElfPatcher: Sendable {
    public struct Original: Sendable, Equatable {
        /// Path relative to ROOT.
        public var file: String
        public var interpreter: String
        public var searchPath: String
        public var searchPathKind: ElfFile.SearchPathKind?
    }

    public var patchelf: String
    public var root: String
    public var state: FakechrootState
    /// Only files owned by this uid are changed (others cannot be written anyway).
    public var uid: uid_t

    public init(patchelf: String, root: String, state: FakechrootState, uid: uid_t = getuid()) {
        self.patchelf = patchelf; self.root = root; self.state = state; self.uid = uid
    }

    /// Dynamically linked files under ROOT that need patching: programs (they have an interpreter) and
    /// libraries with a search path of their own. `changedSince` limits the walk to files changed after it.
    public func candidates(changedSince: time_t? = nil, excluding known: Set<String> = []) -> [Original] {
        var found: [Original] = []
        var inodes = Set<[UInt64]>()
        let loader = root + state.loader
        walk(root) { path, st in
            // Hard links are one file: patch it once.
            guard inodes.insert([UInt64(st.st_dev), UInt64(st.st_ino)]).inserted else { return }
            if let since = changedSince, st.st_ctim.tv_sec < since { return }
            let relative = String(path.dropFirst(root.count))
            guard st.st_uid == uid, path != loader, !known.contains(relative), let elf = ElfFile(path: path), elf.isDynamic else { return }
            guard elf.interpreter != nil || elf.searchPath != nil else { return }
            if let interpreter = elf.interpreter, interpreter.hasPrefix(root + "/") { return }
            found.append(Original(file: relative, interpreter: elf.interpreter ?? "",
                                  searchPath: elf.searchPath ?? "", searchPathKind: elf.searchPathKind))
        }
        return found.sorted { $0.file < $1.file }
    }

    /// The patchelf arguments that point one file into ROOT.
    public func patchArguments(_ original: Original) -> [String] {
        var args = [patchelf]
        if !original.interpreter.isEmpty { args += ["--set-interpreter", root + state.loader] }
        let own = original.searchPath.split(separator: ":").map { entry -> String in
            entry.hasPrefix("/") ? root + entry : String(entry)
        }
        let dirs = (original.interpreter.isEmpty ? [] : state.libraryDirectories.map { root + $0 }) + own
        args += ["--force-rpath", "--set-rpath", dirs.joined(separator: ":"), root + original.file]
        return args
    }

    /// The patchelf arguments that give one file back its original interpreter and search path.
    public func restoreArguments(_ original: Original) -> [String] {
        var args = [patchelf]
        if !original.interpreter.isEmpty { args += ["--set-interpreter", original.interpreter] }
        if original.searchPath.isEmpty {
            args.append("--remove-rpath")
        } else {
            if original.searchPathKind == .rpath { args.append("--force-rpath") }
            args += ["--set-rpath", original.searchPath]
        }
        return args + [root + original.file]
    }

    /// Runs patchelf over `files` (two at a time per core, as child processes: no threads, so that a U1 run can
    /// still create its namespace afterwards); returns the files it could not change.
    public func apply(_ files: [Original], restore: Bool = false) -> [String] {
        // patchelf rewrites the file in place: it needs write permission, which a layer may not have given.
        let modes = files.map { original -> mode_t in
            var st = stat()
            let mode = stat(root + original.file, &st) == 0 ? st.st_mode : 0
            if mode & S_IWUSR == 0 { chmod(root + original.file, mode | S_IWUSR) }
            return mode
        }
        let statuses = Subprocess.runConcurrently(files.map { restore ? restoreArguments($0) : patchArguments($0) })
        for (original, mode) in zip(files, modes) where mode & S_IWUSR == 0 { chmod(root + original.file, mode) }
        return zip(files, statuses).filter { $0.1 != 0 }.map(\.0.file).sorted()
    }

    // MARK: patch.list

    public static func encode(_ list: [Original]) -> String {
        list.map { [$0.file, $0.interpreter, $0.searchPathKind?.rawValue ?? "", $0.searchPath].joined(separator: "\t") + "\n" }.joined()
    }

    public static func decode(_ text: String) -> [Original] {
        text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 4 else { return nil }
            return Original(file: f[0], interpreter: f[1], searchPath: f[3], searchPathKind: ElfFile.SearchPathKind(rawValue: f[2]))
        }
    }

    /// Visits every regular file under `directory` without following links.
    func walk(_ directory: String, _ visit: (String, stat) -> Void) {
        guard let dir = opendir(directory) else { return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name == "." || name == ".." { continue }
            let path = directory + "/" + name
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFDIR: walk(path, visit)
            case S_IFREG: visit(path, st)
            default: break
            }
        }
    }
}
