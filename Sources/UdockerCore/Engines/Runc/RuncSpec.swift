import Foundation

/// A rootless OCI runtime spec (config.json) written from the run, in the shape `runc spec --rootless` gives,
/// changed as udocker 1.3 changes it: no network namespace, no cgroup mount, ids mapped to the invoking
/// user. Unlike udocker it also shares the host's pid and IPC namespaces (so signals reach the command as
/// sent and MPI's shared memory works), which means /proc and /sys are bound from the host.
public struct RuncSpec: Sendable {
    public struct Mount: Sendable, Equatable {
        public var destination: String, type: String, source: String, options: [String]
    }

    public var root: String
    public var args: [String]
    public var env: [String]
    public var cwd: String
    public var hostUID: UInt32
    public var hostGID: UInt32
    public var mounts: [Mount]
    /// OCI hooks the runtime runs (a CDI spec's), with the container's state on their stdin.
    public var hooks: [CDISpec.Hook]

    public init(root: String, args: [String], env: [String], cwd: String, hostUID: UInt32, hostGID: UInt32, mounts: [Mount],
                hooks: [CDISpec.Hook] = []) {
        self.root = root; self.args = args; self.env = env; self.cwd = cwd
        self.hostUID = hostUID; self.hostGID = hostGID; self.mounts = mounts; self.hooks = hooks
    }

    /// The standard mounts of a rootless container: /dev as tmpfs (runc binds the basic devices into it),
    /// /dev/pts, a private /dev/shm, /proc and /sys from the host.
    public static let baseMounts: [Mount] = [
        Mount(destination: "/proc", type: "none", source: "/proc", options: ["rbind", "nosuid", "nodev", "noexec"]),
        Mount(destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"]),
        Mount(destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]),
        Mount(destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=2g"]),
        Mount(destination: "/sys", type: "none", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"]),
    ]

    /// A device node (--device, a GPU's) is bound without nodev, which would make it unusable.
    public static func bind(_ source: String, at destination: String, readOnly: Bool = false) -> Mount {
        var st = stat()
        let device = stat(source, &st) == 0 && (st.st_mode & S_IFMT == S_IFCHR || st.st_mode & S_IFMT == S_IFBLK)
        return Mount(destination: destination, type: "none", source: source,
                     options: ["rbind", "nosuid"] + (device ? [] : ["nodev"]) + [readOnly ? "ro" : "rw"])
    }

    /// The `hooks` object: hooks by name, each with its path, args, env and timeout.
    var hooksJSON: [String: Any] {
        var result: [String: [[String: Any]]] = [:]
        for hook in hooks {
            var entry: [String: Any] = ["path": hook.path]
            if let args = hook.args { entry["args"] = args }
            if let env = hook.env { entry["env"] = env }
            if let timeout = hook.timeout { entry["timeout"] = timeout }
            result[hook.hookName, default: []].append(entry)
        }
        return result
    }

    public var json: [String: Any] {
        let capabilities = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
        var json: [String: Any] = [
            "ociVersion": "1.0.2-dev",
            "root": ["path": root, "readonly": false],
            "process": [
                "terminal": false,
                "user": ["uid": 0, "gid": 0],
                "args": args,
                "env": env,
                "cwd": cwd,
                "capabilities": ["bounding": capabilities, "effective": capabilities, "permitted": capabilities,
                                 "ambient": capabilities],
                "rlimits": [] as [Any],
                "noNewPrivileges": true,
            ] as [String: Any],
            "mounts": mounts.map { ["destination": $0.destination, "type": $0.type, "source": $0.source, "options": $0.options] },
            "linux": [
                "uidMappings": [["containerID": 0, "hostID": Int(hostUID), "size": 1]],
                "gidMappings": [["containerID": 0, "hostID": Int(hostGID), "size": 1]],
                "namespaces": [["type": "mount"], ["type": "user"]],
                "maskedPaths": ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                                "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
            ] as [String: Any],
        ]
        if !hooks.isEmpty { json["hooks"] = hooksJSON }
        return json
    }

    public func encoded() throws -> String {
        let data = try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
