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

    /// posix_spawn_file_actions_addchdir_np (glibc 2.29).
    public static func spawnAddChdir(_ actions: inout posix_spawn_file_actions_t, _ path: String) -> Bool {
        ud_spawn_addchdir(&actions, path) == 0
    }

    /// posix_spawn_file_actions_addclosefrom_np (glibc 2.34): the child closes every fd from `lowest` up.
    public static func spawnAddClosefrom(_ actions: inout posix_spawn_file_actions_t, _ lowest: Int32) -> Bool {
        ud_spawn_addclosefrom(&actions, lowest) == 0
    }
}
