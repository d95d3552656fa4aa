import Foundation
import UdockerCore

/// One test's private world: a directory owned by the test user holding its own HOME, TMPDIR and udocker
/// repository (UDOCKER_DIR = HOME/.udocker, not created until a command creates it). Commands run as the
/// test user with a clean environment built from these paths.
public struct Sandbox: Sendable {
    public let user: TestUser
    public let staging: Staging
    /// The sandbox's top directory (owned by `user`).
    public let directory: String
    public let home: String
    public let tmp: String
    /// UDOCKER_DIR.
    public let udockerDir: String

    /// - `label`: names the directory (the test's name by default), for reading leftovers with UDOCKER_TEST_KEEP=1.
    public init(_ label: String = #function, user: TestUser? = nil) throws {
        self.staging = try Staging.shared()
        self.user = try user ?? TestUser.unprivileged()
        directory = try staging.makeDirectory(label, owner: self.user)
        home = directory + "/home"
        tmp = directory + "/tmp"
        udockerDir = home + "/.udocker"
        try Files.makeDirectory(home, owner: self.user)
        try Files.makeDirectory(tmp, mode: 0o700, owner: self.user)
    }

    /// The environment every command in this sandbox gets.
    public var environment: [String: String] {
        ["HOME": home, "USER": user.name, "LOGNAME": user.name, "TMPDIR": tmp, "UDOCKER_DIR": udockerDir,
         "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "LANG": "C.UTF-8"]
    }

    /// Runs our `udocker` with `arguments`, as the test user.
    @discardableResult
    public func udocker(_ arguments: [String], stdin: Data? = nil, env: [String: String] = [:],
                        timeout: Duration = .seconds(120)) throws -> CommandResult {
        try run([staging.udocker] + arguments, stdin: stdin, env: env, timeout: timeout)
    }

    /// Variadic form: `try sandbox.udocker("ps", "-m")`.
    @discardableResult
    public func udocker(_ arguments: String...) throws -> CommandResult { try udocker(arguments) }

    /// Starts our `udocker` without waiting (to signal it mid-way).
    public func startUdocker(_ arguments: [String], stdin: Data? = nil, timeout: Duration = .seconds(120)) throws -> RunningCommand {
        try Command.start([staging.udocker] + arguments, stdin: stdin, env: environment, as: user, directory: home, timeout: timeout)
    }

    /// Runs any command as the test user in this sandbox's environment (`env` adds or overrides), from HOME.
    @discardableResult
    public func run(_ argv: [String], stdin: Data? = nil, env: [String: String] = [:],
                    timeout: Duration = .seconds(120)) throws -> CommandResult {
        try Command.run(argv, stdin: stdin, env: environment.merging(env) { $1 }, as: user, directory: home, timeout: timeout)
    }

    /// A path inside the repository.
    public func repositoryPath(_ relative: String) -> String { udockerDir + "/" + relative }

    /// A new directory in the sandbox owned by the test user (for volumes, exports, imports).
    public func makeDirectory(_ name: String) throws -> String {
        let path = directory + "/" + name
        try Files.makeDirectory(path, owner: user)
        return path
    }

    /// Everything under UDOCKER_DIR, to prove a failed command changed nothing.
    public func snapshot() throws -> TreeSnapshot { try TreeSnapshot(udockerDir) }

    /// Removes the sandbox now (the staging root goes at exit anyway).
    public func remove() { Files.removeTree(directory) }
}

/// A recursive listing of a tree (the top-level `.locks` aside): for each path its type, permission bits, and for
/// files their size and content digest, for links their target. Two snapshots are equal when the trees are byte
/// for byte the same (times are not compared).
public struct TreeSnapshot: Equatable, Sendable, CustomStringConvertible {
    public let root: String
    /// Relative path → "dir 0755", "file 0644 <size> <sha256>", "link -> <target>", "other".
    public let entries: [String: String]

    public init(_ root: String) throws {
        self.root = root
        var entries: [String: String] = [:]
        func walk(_ relative: String) throws {
            let path = relative.isEmpty ? root : root + "/" + relative
            var st = stat()
            guard lstat(path, &st) == 0 else { return }
            let mode = String(st.st_mode & 0o7777, radix: 8)
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                entries[relative] = "dir \(mode)"
                // Lock files are not content: udocker makes one the first time it locks a name and keeps it.
                for name in Files.list(path) where !(relative.isEmpty && name == ".locks") {
                    try walk(relative.isEmpty ? name : relative + "/" + name)
                }
            case S_IFREG:
                entries[relative] = "file \(mode) \(st.st_size) \(try Self.digest(path))"
            case S_IFLNK:
                entries[relative] = "link -> \((try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?")"
            default:
                entries[relative] = "other \(mode)"
            }
        }
        try walk("")
        self.entries = entries
    }

    /// Human-readable differences, for failure messages: `+ path`, `- path`, `~ path: old → new`.
    public func differences(from before: TreeSnapshot) -> [String] {
        var lines: [String] = []
        for key in Set(entries.keys).union(before.entries.keys).sorted() {
            switch (before.entries[key], entries[key]) {
            case (nil, let now?): lines.append("+ \(key): \(now)")
            case (let was?, nil): lines.append("- \(key): \(was)")
            case (let was?, let now?) where was != now: lines.append("~ \(key): \(was) → \(now)")
            default: break
            }
        }
        return lines
    }

    public var description: String { entries.keys.sorted().map { "\($0): \(entries[$0]!)" }.joined(separator: "\n") }

    private static func digest(_ path: String) throws -> String {
        try Digest.sha256(file: path)
    }
}
