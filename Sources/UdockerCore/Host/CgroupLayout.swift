import Foundation

/// How the host mounts cgroups. crun 1.8 refuses the hybrid layout (v1 controllers under a tmpfs plus a
/// cgroup2 hierarchy at /sys/fs/cgroup/unified), so the runtime choice depends on it.
public enum CgroupLayout: String, Sendable {
    case unified, hybrid, legacy, none

    public static func current() -> CgroupLayout {
        parse(mountinfo: (try? FileSystem.readString("/proc/self/mountinfo")) ?? "")
    }

    /// Reads /proc/self/mountinfo lines: field 5 is the mount point, the type follows the " - " separator.
    public static func parse(mountinfo: String) -> CgroupLayout {
        var v1 = false, v2AtRoot = false, v2Elsewhere = false
        for line in mountinfo.split(separator: "\n") {
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2 else { continue }
            let fields = halves[0].split(separator: " "), type = halves[1].split(separator: " ").first ?? ""
            guard fields.count >= 5, fields[4].hasPrefix("/sys/fs/cgroup") else { continue }
            if type == "cgroup2" { if fields[4] == "/sys/fs/cgroup" { v2AtRoot = true } else { v2Elsewhere = true } }
            if type == "cgroup" { v1 = true }
        }
        if v2AtRoot && !v1 { return .unified }
        if v1 && (v2Elsewhere || v2AtRoot) { return .hybrid }
        return v1 ? .legacy : .none
    }
}
