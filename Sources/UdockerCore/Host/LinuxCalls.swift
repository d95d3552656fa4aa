import Foundation

/// glibc calls that Swift's Glibc module does not import (they are declared only under _GNU_SOURCE):
/// looked up once by name in the C library already loaded, and called through typed function pointers.
/// Nothing else in the project calls them directly.
public enum LinuxCalls {
    public static let cloneNewUser: Int32 = 0x1000_0000
    public static let cloneNewNamespace: Int32 = 0x0002_0000

    private static func symbol<T>(_ name: String, as type: T.Type) -> T? {
        guard let pointer = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
        return unsafeBitCast(pointer, to: type)
    }

    private typealias UnshareFunction = @convention(c) (Int32) -> Int32
    private typealias AffinityFunction = @convention(c) (pid_t, Int, UnsafeRawPointer) -> Int32
    private typealias AddChdirFunction = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    private typealias AddClosefromFunction = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    /// unshare(2); -1 with errno set on failure.
    public static func unshare(_ flags: Int32) -> Int32 {
        guard let call = symbol("unshare", as: UnshareFunction.self) else { errno = ENOSYS; return -1 }
        return call(flags)
    }

    /// sched_setaffinity(2) for the calling process.
    public static func setAffinity(_ cpus: [Int]) -> Int32 {
        guard let call = symbol("sched_setaffinity", as: AffinityFunction.self) else { errno = ENOSYS; return -1 }
        var mask = [UInt8](repeating: 0, count: 128)
        for cpu in cpus where cpu < mask.count * 8 { mask[cpu / 8] |= UInt8(1 << (cpu % 8)) }
        return mask.withUnsafeBytes { call(0, $0.count, $0.baseAddress!) }
    }

    /// posix_spawn_file_actions_addchdir_np (glibc 2.29).
    public static func spawnAddChdir(_ actions: inout posix_spawn_file_actions_t, _ path: String) -> Bool {
        guard let call = symbol("posix_spawn_file_actions_addchdir_np", as: AddChdirFunction.self) else { return false }
        return withUnsafeMutablePointer(to: &actions) { call($0, path) } == 0
    }

    /// posix_spawn_file_actions_addclosefrom_np (glibc 2.34): the child closes every fd from `lowest` up.
    public static func spawnAddClosefrom(_ actions: inout posix_spawn_file_actions_t, _ lowest: Int32) -> Bool {
        guard let call = symbol("posix_spawn_file_actions_addclosefrom_np", as: AddClosefromFunction.self) else { return false }
        return withUnsafeMutablePointer(to: &actions) { call($0, lowest) } == 0
    }
}
