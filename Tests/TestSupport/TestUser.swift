import Foundation

/// The unprivileged user the tests run udocker as. When the tests run as root (as CI does) this is a dedicated
/// account, `udtest`, created on first use; otherwise it is the user running the tests.
public struct TestUser: Sendable, Equatable, CustomStringConvertible {
    public let name: String
    public let uid: uid_t
    public let gid: gid_t
    /// The account's home directory (tests normally give each command its own HOME instead).
    public let home: String

    /// True when commands must go through `runuser` (we are root and this is another user).
    public var needsRunuser: Bool { geteuid() == 0 && uid != 0 }
    public var description: String { "\(name) (\(uid):\(gid))" }

    /// The account name created when the tests run as root.
    public static let accountName = "udtest"

    /// The unprivileged user for this test run (created once, safely across parallel test processes).
    public static func unprivileged() throws -> TestUser {
        try cached.get {
            if geteuid() != 0 { return try lookup(uid: geteuid()) }
            return try createAccountIfNeeded(accountName)
        }
    }

    /// A second unprivileged account, `udtest2`: another user of the same node (the attacker in the tests of what
    /// the launcher trusts). Only when the tests run as root; nil otherwise.
    public static func other() throws -> TestUser? {
        guard geteuid() == 0 else { return nil }
        return try otherCached.get { try createAccountIfNeeded(otherAccountName) }
    }

    public static let otherAccountName = "udtest2"
    private static let otherCached = OnceValue<TestUser>()

    /// The user running the tests (root in CI).
    public static var current: TestUser {
        (try? lookup(uid: geteuid())) ?? TestUser(name: "uid\(geteuid())", uid: geteuid(), gid: getegid(), home: "/")
    }

    public static var isRunningAsRoot: Bool { geteuid() == 0 }

    private static let cached = OnceValue<TestUser>()

    /// useradd under an exclusive lock, so concurrent test processes neither race nor fail on "already exists".
    private static func createAccountIfNeeded(_ accountName: String) throws -> TestUser {
        let lockDir = Files.exists("/run/lock") ? "/run/lock" : "/tmp"
        let lockFD = open(lockDir + "/udocker-swift-testuser.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lockFD >= 0 else { throw TestSupportError("cannot open the test user lock: \(String(cString: strerror(errno)))") }
        defer { close(lockFD) }
        while flock(lockFD, LOCK_EX) != 0 && errno == EINTR {}
        if let user = try? lookup(name: accountName) { return user }
        let result = try Command.run(["/usr/sbin/useradd", "-m", "-s", "/bin/sh", accountName], timeout: .seconds(60))
        guard result.succeeded else { throw TestSupportError("cannot create the test user:\n\(result)") }
        return try lookup(name: accountName)
    }

    private static func lookup(name: String) throws -> TestUser {
        guard let entry = getpwnam(name) else { throw TestSupportError("no such user: \(name)") }
        return TestUser(entry.pointee)
    }

    private static func lookup(uid: uid_t) throws -> TestUser {
        guard let entry = getpwuid(uid) else { throw TestSupportError("no passwd entry for uid \(uid)") }
        return TestUser(entry.pointee)
    }

    private init(_ entry: passwd) {
        self.init(name: String(cString: entry.pw_name), uid: entry.pw_uid, gid: entry.pw_gid, home: String(cString: entry.pw_dir))
    }

    private init(name: String, uid: uid_t, gid: gid_t, home: String) {
        (self.name, self.uid, self.gid, self.home) = (name, uid, gid, home)
    }

    /// Gives `path` (not following a final symlink) to this user.
    public func own(_ path: String) throws {
        guard geteuid() == 0, uid != geteuid() else { return }
        guard lchown(path, uid, gid) == 0 else { throw TestSupportError("chown \(path): \(String(cString: strerror(errno)))") }
    }
}
