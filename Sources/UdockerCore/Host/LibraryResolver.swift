import Foundation

/// Finds shared libraries the way glibc's dynamic loader does, without running it: for a name an object needs,
/// its DT_RPATH (when it has no DT_RUNPATH), LD_LIBRARY_PATH, its DT_RUNPATH, the ldconfig cache, then the default
/// directories; `$ORIGIN` is the object's directory; a file of another class or machine is passed over. The
/// system searched is the host's, or a container's: paths are then the container's, read under its ROOT.
public struct LibraryResolver: Sendable {
    /// A library as the loader of that system would load it.
    public struct Library: Sendable, Equatable {
        /// The name asked for (DT_NEEDED), e.g. libopen-pal.so.40.
        public var name: String
        /// Where that system's loader finds it (a container path for a container).
        public var path: String
        /// The file on this host, links resolved.
        public var file: String
        public init(name: String, path: String, file: String) { self.name = name; self.path = path; self.file = file }
    }

    /// What a closure holds: every library found, and the names none of the places had.
    public struct Closure: Sendable, Equatable {
        public var libraries: [Library]
        public var missing: [String]
    }

    /// Container paths read under ROOT; nil for the host.
    public var container: ContainerPaths?
    public var libraryPath: [String]
    public var cache: [LdCache.Entry]
    public var defaultDirectories: [String]
    /// The class and machine every library must have.
    public var identity: ElfIdentity

    public init(container: ContainerPaths?, libraryPath: [String], cache: [LdCache.Entry], defaultDirectories: [String],
                identity: ElfIdentity) {
        self.container = container; self.libraryPath = libraryPath; self.cache = cache
        self.defaultDirectories = defaultDirectories; self.identity = identity
    }

    /// The host's loader, as a process started with `environment` would search.
    public static func host(environment: [String: String], ldCache: String = "/etc/ld.so.cache",
                            identity: ElfIdentity = ElfIdentity(path: "/proc/self/exe") ?? ElfIdentity(elfClass: 2, byteOrder: 1, machine: 62)) -> LibraryResolver {
        let ldconfig = ["/sbin/ldconfig", "/usr/sbin/ldconfig"].first(where: FileSystem.isFile)
        return LibraryResolver(container: nil, libraryPath: searchList(environment["LD_LIBRARY_PATH"]),
                               cache: LdCache.entries(file: ldCache, ldconfig: ldconfig),
                               defaultDirectories: defaultDirectories(identity), identity: identity)
    }

    /// A container's loader: its own ld.so.cache and default directories, and its LD_LIBRARY_PATH.
    public static func container(_ paths: ContainerPaths, libraryPath: String?, identity: ElfIdentity) -> LibraryResolver {
        let cache = paths.hostPath("/etc/ld.so.cache").flatMap(LdCache.read) ?? []
        return LibraryResolver(container: paths, libraryPath: searchList(libraryPath), cache: cache,
                               defaultDirectories: defaultDirectories(identity), identity: identity)
    }

    /// The loader's default directories for programs of `identity` (multiarch first, as Debian's; lib64 as Red Hat's).
    public static func defaultDirectories(_ identity: ElfIdentity) -> [String] {
        let triplet = [62: "x86_64-linux-gnu", 183: "aarch64-linux-gnu", 21: "powerpc64le-linux-gnu"][Int(identity.machine)]
        return (triplet.map { ["/lib/" + $0, "/usr/lib/" + $0] } ?? []) + ["/lib64", "/usr/lib64", "/lib", "/usr/lib"]
    }

    static func searchList(_ text: String?) -> [String] {
        (text ?? "").split(separator: ":").map(String.init).filter { $0.hasPrefix("/") }
    }

    /// The file on this host for a path of the system searched, links resolved; nil when there is none.
    public func file(_ path: String) -> String? {
        let host = container.map { $0.hostPath(path) } ?? LibraryClosure.realPath(path)
        guard let host, FileSystem.isFile(host) else { return nil }
        return LibraryClosure.realPath(host)
    }

    /// Where the loader finds `name`, needed by the object at `objectPath` (a path of the system searched).
    public func resolve(_ name: String, neededBy object: ElfFile?, at objectPath: String?) -> Library? {
        if name.contains("/") { return file(name).map { Library(name: name, path: name, file: $0) } }
        let origin = objectPath.map(Paths.dirname) ?? "/"
        func expand(_ list: String?) -> [String] {
            Self.searchList(list?.replacingOccurrences(of: "${ORIGIN}", with: origin).replacingOccurrences(of: "$ORIGIN", with: origin))
        }
        var directories: [String] = []
        if object?.searchPathKind == .rpath { directories += expand(object?.searchPath) }
        directories += libraryPath
        if object?.searchPathKind == .runpath { directories += expand(object?.searchPath) }
        for directory in directories {
            if let found = candidate(name, at: directory + "/" + name) { return found }
        }
        for entry in cache where entry.soname == name {
            if let found = candidate(name, at: entry.path) { return found }
        }
        for directory in defaultDirectories {
            if let found = candidate(name, at: directory + "/" + name) { return found }
        }
        return nil
    }

    private func candidate(_ name: String, at path: String) -> Library? {
        guard let file = file(path), ElfIdentity(path: file) == identity else { return nil }
        return Library(name: name, path: path, file: file)
    }

    /// `objects` and everything they load, each after what it needs (the order that preloading them must take
    /// for every name to be loaded already when asked for).
    public func loadOrder(of objects: [String], skip: (String) -> Bool = { _ in false }) -> [Library] {
        var visited = Set<String>(), order: [Library] = []
        func visit(_ library: Library) {
            guard visited.insert(library.name).inserted else { return }
            if let elf = ElfFile(path: library.file) {
                for name in elf.needed where !skip(name) {
                    if let needed = resolve(name, neededBy: elf, at: library.path) { visit(needed) }
                }
            }
            order.append(library)
        }
        for path in objects { if let found = file(path) { visit(Library(name: Paths.basename(path), path: path, file: found)) } }
        return order
    }

    /// Everything `objects` (paths of the system searched) load, breadth first; a name is resolved once (the
    /// loader reuses a library it loaded under that soname); names `skip` accepts are neither resolved nor followed.
    public func closure(of objects: [String], skip: (String) -> Bool = { _ in false }) -> Closure {
        var libraries: [Library] = [], missing: [String] = []
        var known = Set<String>()
        var pending: [(path: String, elf: ElfFile)] = objects.compactMap { path in
            file(path).flatMap(ElfFile.init(path:)).map { (path, $0) }
        }
        for object in pending { if let soname = object.elf.soname { known.insert(soname) } }
        while !pending.isEmpty {
            let (path, elf) = pending.removeFirst()
            for name in elf.needed where !skip(name) && known.insert(name).inserted {
                guard let library = resolve(name, neededBy: elf, at: path) else { missing.append(name); continue }
                libraries.append(library)
                if let next = ElfFile(path: library.file) { pending.append((library.path, next)) }
            }
        }
        return Closure(libraries: libraries, missing: missing)
    }
}
