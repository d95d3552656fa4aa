import Foundation

/// The invoking user as the host knows it.
public struct HostUser: Sendable, Equatable {
    public var name: String
    public var uid: UInt32
    public var gid: UInt32
    public var home: String
    public var shell: String

    public static func current() -> HostUser {
        let uid = getuid(), gid = getgid()
        if let pw = getpwuid(uid) {
            return HostUser(name: String(cString: pw.pointee.pw_name), uid: uid, gid: gid,
                            home: String(cString: pw.pointee.pw_dir), shell: String(cString: pw.pointee.pw_shell))
        }
        return HostUser(name: ProcessInfo.processInfo.environment["USER"] ?? "\(uid)", uid: uid, gid: gid,
                        home: NSHomeDirectory(), shell: "/bin/sh")
    }
}
