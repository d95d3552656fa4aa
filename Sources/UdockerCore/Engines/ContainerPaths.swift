import Foundation

/// Container paths seen from the host: a path inside the container is looked up through the run's binds, then
/// under ROOT, following symlinks as the container would (an absolute link target is relative to ROOT).
public struct ContainerPaths: Sendable {
    public var root: String
    public var binds: [RunOptions.Volume]

    public init(root: String, binds: [RunOptions.Volume] = []) { self.root = root; self.binds = binds }

    /// The host path for `path` (absolute, inside the container), with symlinks resolved; nil if a link loops.
    public func hostPath(_ path: String) -> String? {
        var pending = path.split(separator: "/").map(String.init)
        var resolved: [String] = []
        var hops = 0
        while !pending.isEmpty {
            let part = pending.removeFirst()
            if part == "." || part.isEmpty { continue }
            if part == ".." { _ = resolved.popLast(); continue }
            let containerPath = "/" + (resolved + [part]).joined(separator: "/")
            if let bind = bindHostPath(containerPath) {
                // Inside a bind the host resolves the rest.
                return Paths.join([bind] + pending)
            }
            let host = root + containerPath
            if let target = FileSystem.readLink(host), FileSystem.isSymlink(host) {
                hops += 1
                if hops > 40 { return nil }
                let targetParts = target.split(separator: "/").map(String.init)
                if target.hasPrefix("/") { resolved = [] }
                pending = targetParts + pending
                continue
            }
            resolved.append(part)
        }
        let containerPath = "/" + resolved.joined(separator: "/")
        return bindHostPath(containerPath) ?? (resolved.isEmpty ? root : root + containerPath)
    }

    private func bindHostPath(_ containerPath: String) -> String? {
        binds.first { $0.containerPath == containerPath }?.hostPath
    }
}

/// Where a command was found in the container, and the interpreter a script names in its `#!` line.
public struct ResolvedCommand: Sendable, Equatable {
    /// The path inside the container (as found on PATH, links not resolved).
    public var containerPath: String
    /// The file on the host, links resolved.
    public var hostPath: String
    /// For a script: the interpreter's container path and its optional single argument.
    public var interpreter: [String]?
    /// The interpreter's file on the host, links resolved.
    public var interpreterHostPath: String?

    public init(containerPath: String, hostPath: String, interpreter: [String]? = nil, interpreterHostPath: String? = nil) {
        self.containerPath = containerPath; self.hostPath = hostPath
        self.interpreter = interpreter; self.interpreterHostPath = interpreterHostPath
    }

    /// udocker's find_exec: a name with a slash is taken as is (relative to the working directory);
    /// a bare name is searched on the container's PATH.
    public static func find(_ name: String, path searchPath: String, workingDirectory: String,
                            in paths: ContainerPaths) -> ResolvedCommand? {
        var candidates: [String]
        if name.hasPrefix("/") { candidates = [name] }
        else if name.contains("/") { candidates = [Paths.join(workingDirectory, name)] }
        else { candidates = searchPath.split(separator: ":").map { Paths.join(String($0), name) } }
        candidates = candidates.filter { $0.hasPrefix("/") }
        for candidate in candidates {
            guard let host = paths.hostPath(candidate), FileSystem.isFile(host), access(host, X_OK) == 0 else { continue }
            let interpreter = shebang(host)
            let interpreterHost = interpreter.flatMap { $0[0].hasPrefix("/") ? paths.hostPath($0[0]) : nil }
            return ResolvedCommand(containerPath: candidate, hostPath: host, interpreter: interpreter,
                                   interpreterHostPath: interpreterHost)
        }
        return nil
    }

    /// The `#!` line of a script: interpreter and the rest as one argument, as the kernel splits it.
    static func shebang(_ path: String) -> [String]? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let head = try? handle.read(upToCount: 256), head.starts(with: [0x23, 0x21]) else { return nil }
        let line = String(decoding: head.dropFirst(2).prefix { $0 != 0x0a }, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        guard !line.isEmpty else { return nil }
        let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true).map(String.init)
        return parts.count == 2 ? [parts[0], parts[1].trimmingCharacters(in: .whitespaces)] : parts
    }
}
