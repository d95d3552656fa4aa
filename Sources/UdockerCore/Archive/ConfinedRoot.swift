import Foundation

/// The directory archives are extracted into, held by a descriptor. Every path is walked one component at a
/// time with openat(O_NOFOLLOW | O_DIRECTORY), never as a path string the kernel could redirect. A symlink
/// met on the way is resolved here the way the container will see it — an absolute target starts again at the
/// root, `..` stops at the root — as openat2(RESOLVE_IN_ROOT) and Docker's layer applier do, so that layers
/// writing through `lib -> usr/lib` keep working while no member can reach anything outside the root.
/// Last components are never followed: callers use the *at() calls with O_NOFOLLOW / AT_SYMLINK_NOFOLLOW.
final class ConfinedRoot {
    let descriptor: Int32
    private let identity: (device: dev_t, inode: ino_t)
    /// Descriptors of the directories along the last parent looked up: members arrive grouped by directory, so
    /// most lookups reuse all or most of this chain instead of walking from the root again.
    private var chain: [(component: [CChar], fd: Int32)] = []
    private var chainIsStale = false
    /// Linux's own limit on symlinks followed in one lookup.
    private static let symlinkLimit = 40

    init(path: String) throws {
        let fd = open(path, DescriptorCalls.pathOnly | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw UdockerError.posix("cannot open directory", path) }
        var st = stat()
        fstat(fd, &st)
        descriptor = fd
        identity = (st.st_dev, st.st_ino)
    }

    deinit {
        dropChain()
        close(descriptor)
    }

    /// The directory `path` names, inside the root. With `create`, missing directories are made (mode 0755);
    /// without it, nil when some component is missing or not a directory. The descriptor is an DescriptorCalls.pathOnly one,
    /// borrowed: valid until the next lookup.
    func directory(_ path: MemberPath, create: Bool) throws -> Int32? {
        if chainIsStale { dropChain() }
        var shared = 0
        while shared < chain.count, shared < path.components.count, chain[shared].component == path.components[shared] {
            shared += 1
        }
        while chain.count > shared { close(chain.removeLast().fd) }
        var current = chain.last?.fd ?? descriptor
        var budget = Self.symlinkLimit
        for component in path.components[shared...] {
            guard let next = try step(from: current, component, create: create, budget: &budget) else { return nil }
            chain.append((component, next))
            current = next
        }
        return current
    }

    /// Like `directory(_:create: false)` but independent of the cache: the caller owns the descriptor.
    /// Used where two directories are needed at once (a hardlink's target and its new name).
    func openDirectory(_ path: MemberPath) throws -> Int32? {
        var current = try DescriptorCalls.reopen(descriptor)
        var budget = Self.symlinkLimit
        for component in path.components {
            let next: Int32?
            do { next = try step(from: current, component, create: false, budget: &budget) } catch {
                close(current)
                throw error
            }
            close(current)
            guard let next else { return nil }
            current = next
        }
        return current
    }

    /// Removes `name` in `directory` whatever it is, a directory with everything below it (made writable first:
    /// removal must not fail on a read-only directory). Symlinks are removed, never followed.
    func remove(_ name: [CChar], in directory: Int32) throws {
        guard let st = try DescriptorCalls.status(name, in: directory) else { return }
        try FileSystem.removeEntry(name, in: directory)
        // A removed directory or symlink may be one the cached chain went through.
        if DescriptorCalls.isDirectory(st) || DescriptorCalls.isSymlink(st) { chainIsStale = true }
    }

    private func dropChain() {
        for link in chain { close(link.fd) }
        chain.removeAll(keepingCapacity: true)
        chainIsStale = false
    }

    /// One component down from `base`: a real directory, a directory made on demand, or a symlink resolved
    /// inside the root. Returns an owned descriptor.
    private func step(from base: Int32, _ name: [CChar], create: Bool, budget: inout Int) throws -> Int32? {
        let fd = openat(base, name, DescriptorCalls.pathOnly | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if fd >= 0 { return fd }
        let openError = errno
        if openError == ENOENT {
            guard create else { return nil }
            if mkdirat(base, name, 0o755) != 0 && errno != EEXIST {
                throw UdockerError.posix("cannot create directory", DescriptorCalls.display(name))
            }
            let made = openat(base, name, DescriptorCalls.pathOnly | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard made >= 0 else { throw UdockerError.posix("cannot open directory", DescriptorCalls.display(name)) }
            return made
        }
        guard openError == ENOTDIR || openError == ELOOP,
              let st = try DescriptorCalls.status(name, in: base) else {
            throw UdockerError.posix("cannot open directory", DescriptorCalls.display(name), errno: openError)
        }
        guard DescriptorCalls.isSymlink(st) else {
            if !create { return nil }
            throw UdockerError(.invalidInput, "\(DescriptorCalls.display(name)) is not a directory")
        }
        budget -= 1
        guard budget >= 0 else {
            throw UdockerError(.invalidInput, "too many levels of symbolic links at \(DescriptorCalls.display(name))")
        }
        return try follow(DescriptorCalls.readLink(name, in: base), from: base, create: create, budget: &budget)
    }

    /// Resolves a symlink's target starting at `base` (or at the root for an absolute target).
    private func follow(_ target: [CChar], from base: Int32, create: Bool, budget: inout Int) throws -> Int32? {
        let slash = CChar(UInt8(ascii: "/")), dot = CChar(UInt8(ascii: "."))
        let bytes = target.prefix(while: { $0 != 0 })
        var current = try DescriptorCalls.reopen(bytes.first == slash ? descriptor : base)
        do {
            for part in bytes.split(separator: slash) {
                if part.elementsEqual([dot]) { continue }
                if part.elementsEqual([dot, dot]) {
                    let up = try parent(of: current)
                    close(current)
                    current = up
                    continue
                }
                let next = try step(from: current, Array(part) + [0], create: create, budget: &budget)
                close(current)
                guard let next else { return nil }
                current = next
            }
        } catch {
            close(current)
            throw error
        }
        return current
    }

    /// A new descriptor on the parent of `fd`, or on the root itself when `fd` is the root: `..` never leaves it.
    private func parent(of fd: Int32) throws -> Int32 {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw UdockerError.posix("cannot stat", "directory") }
        if st.st_dev == identity.device && st.st_ino == identity.inode { return try DescriptorCalls.reopen(fd) }
        let up = openat(fd, "..", DescriptorCalls.pathOnly | O_DIRECTORY | O_CLOEXEC)
        guard up >= 0 else { throw UdockerError.posix("cannot open", "..") }
        return up
    }
}
