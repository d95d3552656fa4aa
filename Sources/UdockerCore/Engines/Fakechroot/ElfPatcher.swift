import Foundation

/// F3/F4: points every dynamically linked program in ROOT at the container's loader (PT_INTERP) and library
/// directories (DT_RPATH) by absolute host paths, using patchelf. Each file's original interpreter and search
/// path are kept in `patch.list`, and its original bytes in `patch.orig/`, so the patch is undone (P/R modes,
/// --purge) by putting those bytes back — patchelf asked to set the old values again would leave a file larger
/// each time — and redone for a new ROOT (`setup --force` after a move) from them.
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
    /// The directory keeping each patched file's original bytes, under the sha256 of its path in ROOT.
    public var originals: String
    /// Only files owned by this uid are changed (others cannot be written anyway).
    public var uid: uid_t

    public init(patchelf: String, root: String, state: FakechrootState, originals: String, uid: uid_t = getuid()) {
        self.patchelf = patchelf; self.root = root; self.state = state; self.originals = originals; self.uid = uid
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

    /// Patches (or with `restore`, restores) `files`; returns the files it could not change. `originals` must
    /// exist. The bytes are copied one file at a time; patchelf runs two at a time per core as child processes,
    /// not threads, so that a U1 run can still create its namespace afterwards.
    public func apply(_ files: [Original], restore: Bool = false) throws -> [String] {
        // Files are rewritten in place (hard links share them): that needs write permission, which a layer may
        // not have given.
        let modes = files.map { original -> mode_t in
            var st = stat()
            let mode = stat(root + original.file, &st) == 0 ? st.st_mode : 0
            if mode & S_IWUSR == 0 { chmod(root + original.file, mode | S_IWUSR) }
            return mode
        }
        var failed = Set<String>(), patchelfRuns: [(Original, [String])] = []
        for original in files {
            let file = root + original.file, saved = try kept(original)
            if restore {
                // The kept bytes go back; a file patched before bytes were kept gets its old values from patchelf.
                if !FileSystem.exists(saved) { patchelfRuns.append((original, restoreArguments(original))) }
                else if FileSystem.copyFile(saved, to: file) { try? FileSystem.removeFile(saved) }
                else { failed.insert(original.file) }
            } else {
                // Keeps the file's bytes the first time; a file patched before starts again from them.
                let ready = FileSystem.exists(saved) ? FileSystem.copyFile(saved, to: file) : FileSystem.copyFile(file, to: saved)
                if ready { patchelfRuns.append((original, patchArguments(original))) } else { failed.insert(original.file) }
            }
        }
        let statuses = Subprocess.runConcurrently(patchelfRuns.map(\.1))
        for (run, status) in zip(patchelfRuns, statuses) where status != 0 { failed.insert(run.0.file) }
        for (original, mode) in zip(files, modes) where mode & S_IWUSR == 0 { chmod(root + original.file, mode) }
        return failed.sorted()
    }

    /// Where `original`'s bytes are kept.
    func kept(_ original: Original) throws -> String {
        originals + "/" + (try Digest.sha256(Data(original.file.utf8)).dropFirst("sha256:".count))
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
