import CLinux
import Foundation

/// glibc calls that Swift's Glibc module does not import (declared only under _GNU_SOURCE), reached through the
/// small C target CLinux. Nothing else in the project calls them directly.
public enum LinuxCalls {
    public static let cloneNewUser: Int32 = ud_clone_newuser()
    public static let cloneNewNamespace: Int32 = ud_clone_newns()

    /// unshare(2); -1 with errno set on failure.
    public static func unshare(_ flags: Int32) -> Int32 { ud_unshare(flags) }

    /// sched_setaffinity(2) for the calling process.
    public static func setAffinity(_ cpus: [Int]) -> Int32 {
        var mask = [UInt8](repeating: 0, count: 128)
        for cpu in cpus where cpu < mask.count * 8 { mask[cpu / 8] |= UInt8(1 << (cpu % 8)) }
        return ud_setaffinity_self(mask, mask.count)
    }

    /// The CPUs the calling process may run on (sched_getaffinity(2)); nil when the call fails.
    public static func affinity() -> [Int]? {
        var mask = [UInt8](repeating: 0, count: 128)
        guard ud_getaffinity_self(&mask, mask.count) == 0 else { return nil }
        return (0..<(mask.count * 8)).filter { mask[$0 / 8] & UInt8(1 << ($0 % 8)) != 0 }
    }

    /// The statfs(2) file system type (magic number) of the file system holding `path`; nil when it fails.
    public static func fileSystemType(_ path: String) -> Int? {
        let type = ud_filesystem_type(path)
        return type < 0 ? nil : Int(type)
    }

    /// setns(2) into the namespace that `fd` (an open /proc/PID/ns/ file) refers to; -1 with errno on failure.
    public static func setNamespace(_ fd: Int32, _ type: Int32) -> Int32 { ud_setns(fd, type) }

    /// posix_spawn_file_actions_addchdir_np (glibc 2.29).
    public static func spawnAddChdir(_ actions: inout posix_spawn_file_actions_t, _ path: String) -> Bool {
        ud_spawn_addchdir(&actions, path) == 0
    }

    /// posix_spawn_file_actions_addclosefrom_np (glibc 2.34): the child closes every fd from `lowest` up.
    public static func spawnAddClosefrom(_ actions: inout posix_spawn_file_actions_t, _ lowest: Int32) -> Bool {
        ud_spawn_addclosefrom(&actions, lowest) == 0
    }
}
