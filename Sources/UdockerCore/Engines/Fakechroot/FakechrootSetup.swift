import Foundation

/// The one-time file system work F modes need, kept apart from the (pure) engine: finding the container's
/// loader and library directories, making absolute symlinks relative, patching the loader (F2+) and the ELF
/// files (F3/F4), recording the ROOT those patches name, and undoing all of it. Bookkeeping lives beside ROOT
/// under udocker's names: ld.so.path, ld.lib.dirs, ld.so.orig, patch.path, patch.time, patch.list, links.conv.
public struct FakechrootSetup: Sendable {
    public var containerDir: String
    public var root: String
    /// Needed for F3/F4 and to undo them.
    public var patchelf: String?

    public init(containerDir: String, root: String, patchelf: String?) {
        self.containerDir = containerDir; self.root = root; self.patchelf = patchelf
    }

    func file(_ name: ContainerFile) -> String { containerDir + "/" + name.rawValue }

    // MARK: facts about the container

    /// The loader and library directories, computed once and cached in ld.so.path / ld.lib.dirs.
    /// `refresh` looks again (a recorded loader that still exists is kept: patched programs no longer name it).
    public func state(refresh: Bool = false) throws -> FakechrootState {
        let recorded = FileSystem.readValue(file(.ldSoPath))
        if !refresh, let loader = recorded, !loader.isEmpty, let dirs = FileSystem.readValue(file(.ldLibDirs)) {
            return FakechrootState(loader: loader, libraryDirectories: dirs.split(separator: ":").map(String.init))
        }
        let loader = try recorded.flatMap { !$0.isEmpty && FileSystem.isFile(root + $0) ? $0 : nil } ?? findLoader()
        let state = FakechrootState(loader: loader, libraryDirectories: libraryDirectories())
        try FileSystem.atomicWrite(state.loader, to: file(.ldSoPath))
        try FileSystem.atomicWrite(state.libraryDirectories.joined(separator: ":"), to: file(.ldLibDirs))
        return state
    }

    /// The interpreter the container's programs name, resolved inside the container (udocker's guess_elf_loader).
    func findLoader() throws -> String {
        let paths = ContainerPaths(root: root)
        for dir in ["/bin", "/usr/bin", "/sbin", "/usr/sbin"] {
            guard let names = try? FileSystem.list(root + dir) else { continue }
            for name in names.sorted() {
                guard let host = paths.hostPath(dir + "/" + name), let elf = ElfFile(path: host),
                      var interpreter = elf.interpreter else { continue }
                // An F3 container's programs already name the loader by its host path.
                if interpreter.hasPrefix(root + "/") { interpreter = String(interpreter.dropFirst(root.count)) }
                guard let loader = paths.hostPath(interpreter), FileSystem.isFile(loader) else { continue }
                return String(loader.dropFirst(root.count))
            }
        }
        throw UdockerError(.unsupported, "the container has no dynamically linked programs (static binaries only, or no C library): "
                           + "F modes cannot run it; use P1, P2, R1 or U1")
    }

    /// Standard directories plus those /etc/ld.so.conf names, as container paths, that exist in ROOT.
    func libraryDirectories() -> [String] {
        var dirs = ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
                    "/usr/lib/aarch64-linux-gnu", "/lib/powerpc64le-linux-gnu", "/usr/lib/powerpc64le-linux-gnu",
                    "/lib64", "/usr/lib64", "/lib", "/usr/lib"]
        dirs += ldSoConf("/etc/ld.so.conf", depth: 0)
        let paths = ContainerPaths(root: root)
        var seen = Set<String>(), result: [String] = []
        for dir in dirs {
            guard let host = paths.hostPath(dir), FileSystem.isDirectoryFollowingLinks(host) else { continue }
            let real = String(host.dropFirst(root.count))
            let key = real.isEmpty ? "/" : real
            if seen.insert(key).inserted { result.append(key) }
        }
        return result
    }

    private func ldSoConf(_ path: String, depth: Int) -> [String] {
        guard depth < 4, let text = try? FileSystem.readString(root + path) else { return [] }
        var dirs: [String] = []
        for raw in text.split(separator: "\n") {
            let line = raw.split(separator: "#").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            if line.hasPrefix("include ") {
                let pattern = line.dropFirst(8).trimmingCharacters(in: .whitespaces)
                let dir = Paths.dirname(pattern), suffix = Paths.basename(pattern).replacingOccurrences(of: "*", with: "")
                for name in ((try? FileSystem.list(root + dir)) ?? []).sorted() where name.hasSuffix(suffix) {
                    dirs += ldSoConf(dir + "/" + name, depth: depth + 1)
                }
            } else if line.hasPrefix("/") {
                dirs.append(line)
            }
        }
        return dirs
    }

    /// The container's libc.so.6, beside its loader.
    func libc(_ state: FakechrootState) -> String { root + Paths.dirname(state.loader) + "/libc.so.6" }

    /// The highest GLIBC_2.N the container's libc defines; nil when it has no glibc.
    public func glibcLevel(_ state: FakechrootState) -> Int? {
        FileSystem.exists(libc(state)) ? GlibcLevel.highest(in: libc(state)) : nil
    }

    /// Refuses a container whose libc cannot load the host's libfakechroot (it needs a newer glibc).
    public func checkLibrary(_ library: String, state: FakechrootState) throws {
        try checkLibrary(library, state: state, glibcLevel: glibcLevel(state))
    }

    /// The same, given the container's `glibcLevel(state)` already read.
    public func checkLibrary(_ library: String, state: FakechrootState, glibcLevel: Int?) throws {
        let needed = GlibcLevel.highest(in: library) ?? 0
        let libc = libc(state)
        guard let level = glibcLevel else {
            throw UdockerError(.unsupported, "the container's C library is not glibc (no \(Paths.dirname(state.loader))/libc.so.6): "
                               + "\(library) cannot be loaded; use P1, P2, R1 or U1, or set UDOCKER_FAKECHROOT_SO to a libfakechroot built for it")
        }
        guard level >= needed else {
            let release = GlibcLevel.release(of: libc) ?? "2.\(level)"
            throw UdockerError(.unsupported, "the container's glibc \(release) is older than the glibc 2.\(needed) that \(library) needs: "
                               + "use P1, P2, R1 or U1, or set UDOCKER_FAKECHROOT_SO to a libfakechroot built for glibc \(release)")
        }
    }

    // MARK: switching modes

    /// Brings ROOT to what `mode` needs, undoing what a previous F mode did; `force` redoes it all (a new location).
    public func apply(_ mode: ExecMode, force: Bool) throws {
        if mode.family == .fakechroot {
            let state = try self.state(refresh: force)
            try convertLinks(force: force)
            if mode == .F1 { try restoreLoader() } else { try patchLoader(state, force: force) }
            if mode == .F3 || mode == .F4 { try patchFiles(state, force: force) } else { try restoreFiles() }
        } else {
            try restoreFiles()
            try restoreLoader()
        }
    }

    /// Before each F3/F4 run: a container whose programs name another location is refused with the fix.
    public func checkNotMoved(_ mode: ExecMode) throws {
        guard mode == .F3 || mode == .F4,
              let patchedFor = FileSystem.readValue(file(.patchPath)),
              patchedFor != realContainerDir else { return }
        throw UdockerError(.engine, "container was set up for \(mode.rawValue) at \(patchedFor) and is now at \(realContainerDir): "
                           + "its programs still name the old path; run `udocker setup --execmode=\(mode.rawValue) --force "
                           + "\(Paths.basename(containerDir))` here (or use F1, R1 or U1, which patch no paths)")
    }

    /// F4, before each run: patch what changed since the last patch.
    public func refreshPatches(_ mode: ExecMode, state: FakechrootState) throws {
        if mode == .F4 { try patchChanged(state) }
    }

    var realContainerDir: String { RunPreparation.realPath(containerDir) }

    // MARK: symlinks

    /// Absolute symlinks inside ROOT lead to the host under fakechroot (the kernel follows them); they are
    /// rewritten as relative links, which mean the same in every mode. The old targets are kept for --purge.
    /// The walk works on descriptors: links deeper than PATH_MAX are converted too.
    func convertLinks(force: Bool) throws {
        if FileSystem.exists(file(.linksConverted)) && !force { return }
        var record = (try? FileSystem.readString(file(.linksConverted))) ?? ""
        try TreeWalker(root: root).walk { item in
            guard DescriptorCalls.isSymlink(item.status) else { return }
            let target = DescriptorCalls.display(try DescriptorCalls.readLink(item.name, in: item.directory))
            guard target.hasPrefix("/") else { return }
            let path = "/" + DescriptorCalls.display(item.path)
            var relative = Paths.relative(Paths.absolute(target), from: Paths.dirname(path))
            if relative.isEmpty { relative = "." }
            try replaceLink(item.name, in: item.directory, with: relative, path)
            record += path + "\t" + target + "\n"
        }
        try FileSystem.atomicWrite(record, to: file(.linksConverted))
    }

    /// Puts the absolute links back (--purge).
    public func restoreLinks() throws {
        guard let record = try? FileSystem.readString(file(.linksConverted)) else { return }
        let confined = try ConfinedRoot(path: root)
        for line in record.split(separator: "\n") {
            let f = line.split(separator: "\t", maxSplits: 1).map(String.init)
            guard f.count == 2, let member = try? MemberPath(member: Array(String(f[0].dropFirst()).utf8CString)), !member.isRoot,
                  let parent = try confined.openDirectory(member.parent) else { continue }
            defer { close(parent) }
            guard let st = try DescriptorCalls.status(member.name, in: parent), DescriptorCalls.isSymlink(st) else { continue }
            try replaceLink(member.name, in: parent, with: f[1], f[0])
        }
        try FileSystem.removeFile(file(.linksConverted))
    }

    private func replaceLink(_ name: [CChar], in directory: Int32, with target: String, _ path: String) throws {
        guard unlinkat(directory, name, 0) == 0 || errno == ENOENT, symlinkat(target, directory, name) == 0 else {
            throw UdockerError.posix("cannot convert link", root + path)
        }
    }

    // MARK: loader

    func patchLoader(_ state: FakechrootState, force: Bool) throws {
        let loader = root + state.loader
        if FileSystem.exists(file(.ldSoOrig)) && !force { return }
        if !FileSystem.exists(file(.ldSoOrig)) {
            try FileSystem.atomicWrite(try FileSystem.read(loader), to: file(.ldSoOrig), mode: 0o755)
        }
        try writeKeepingMode(LoaderPatch.patch(try FileSystem.read(file(.ldSoOrig))), to: loader)
    }

    func restoreLoader() throws {
        guard FileSystem.exists(file(.ldSoOrig)), let loader = try? state().loader else { return }
        try writeKeepingMode(try FileSystem.read(file(.ldSoOrig)), to: root + loader)
        try FileSystem.removeFile(file(.ldSoOrig))
    }

    private func writeKeepingMode(_ data: Data, to path: String) throws {
        var st = stat()
        let mode = stat(path, &st) == 0 ? st.st_mode & 0o7777 : 0o755
        try FileSystem.atomicWrite(data, to: path, mode: mode | S_IWUSR)
        chmod(path, mode)
    }

    // MARK: ELF files

    private func patcher(_ state: FakechrootState) throws -> ElfPatcher {
        guard let patchelf else {
            throw UdockerError(.notFound, "patchelf not found (install patchelf or set UDOCKER_USE_PATCHELF_EXECUTABLE): F3/F4 need it")
        }
        try FileSystem.makeDirectories(file(.patchOriginals), mode: 0o700)
        return ElfPatcher(patchelf: patchelf, root: root, state: state, originals: file(.patchOriginals))
    }

    func patchFiles(_ state: FakechrootState, force: Bool) throws {
        let patcher = try patcher(state)
        let recorded = ElfPatcher.decode((try? FileSystem.readString(file(.patchList))) ?? "")
        let patchedFor = FileSystem.readValue(file(.patchPath))
        if !recorded.isEmpty && patchedFor == realContainerDir && !force { return }
        // From the originals: works the first time, after a move, and when forced.
        let start = time(nil)
        let list = recorded + patcher.candidates(excluding: Set(recorded.map(\.file)))
        try FileSystem.atomicWrite(ElfPatcher.encode(list), to: file(.patchList))
        let failed = try patcher.apply(list)
        if !failed.isEmpty { Log.warning("patchelf could not patch \(failed.count) files, e.g. \(failed[0])") }
        try FileSystem.atomicWrite(realContainerDir, to: file(.patchPath))
        try FileSystem.atomicWrite(String(start), to: file(.patchTime))
        Log.verbose("patched \(list.count - failed.count) ELF files for \(root)")
    }

    /// F4: files created or changed since the last patch (by ctime) are patched before the run.
    func patchChanged(_ state: FakechrootState) throws {
        let patcher = try patcher(state)
        let since = time_t(FileSystem.readValue(file(.patchTime)).flatMap { Int($0) } ?? 0)
        let start = time(nil)
        let new = patcher.candidates(changedSince: since)
        if !new.isEmpty {
            let recorded = ElfPatcher.decode((try? FileSystem.readString(file(.patchList))) ?? "")
            let known = Set(recorded.map(\.file))
            try FileSystem.atomicWrite(ElfPatcher.encode(recorded + new.filter { !known.contains($0.file) }), to: file(.patchList))
            let failed = try patcher.apply(new)
            if !failed.isEmpty { Log.warning("patchelf could not patch \(failed.joined(separator: " "))") }
            Log.debug("F4: patched \(new.count - failed.count) new ELF files")
        }
        try FileSystem.atomicWrite(String(start), to: file(.patchTime))
    }

    func restoreFiles() throws {
        // Absent unless F3/F4 patched files: checked first, as every F1 run passes here.
        guard FileSystem.exists(file(.patchList)), let text = try? FileSystem.readString(file(.patchList)) else { return }
        let recorded = ElfPatcher.decode(text)
        if !recorded.isEmpty {
            let patcher = try patcher(try state())
            let failed = try patcher.apply(recorded.filter { FileSystem.isFile(root + $0.file) }, restore: true)
            if !failed.isEmpty { Log.warning("patchelf could not restore \(failed.count) files, e.g. \(failed[0])") }
        }
        for name in [ContainerFile.patchList, .patchPath, .patchTime] { try FileSystem.removeFile(file(name)) }
        try FileSystem.removeTree(file(.patchOriginals))
    }
}
