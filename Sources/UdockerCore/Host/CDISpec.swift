import Foundation

/// One Container Device Interface spec file (cncf-tags/container-device-interface, SPEC.md), as a site's or a
/// vendor's tool writes it (`nvidia-ctk cdi generate` → /etc/cdi/nvidia.yaml): a kind (`VENDOR/CLASS`), the
/// devices of that kind by name, each with the edits a container needs to use it, and edits common to every
/// device of the spec. Only what a runtime applies is modelled; other keys (annotations, intelRdt, …) are
/// accepted and ignored, as the spec allows.
public struct CDISpec: Sendable, Equatable, Codable {
    public var cdiVersion: String
    public var kind: String
    public var devices: [Device]
    public var containerEdits: ContainerEdits?

    public init(cdiVersion: String, kind: String, devices: [Device], containerEdits: ContainerEdits? = nil) {
        self.cdiVersion = cdiVersion; self.kind = kind; self.devices = devices; self.containerEdits = containerEdits
    }

    public struct Device: Sendable, Equatable, Codable {
        public var name: String
        public var containerEdits: ContainerEdits
        public init(name: String, containerEdits: ContainerEdits) { self.name = name; self.containerEdits = containerEdits }
    }

    public struct ContainerEdits: Sendable, Equatable, Codable {
        /// NAME=VALUE entries.
        public var env: [String]?
        public var deviceNodes: [DeviceNode]?
        public var mounts: [Mount]?
        public var hooks: [Hook]?
        public init(env: [String]? = nil, deviceNodes: [DeviceNode]? = nil, mounts: [Mount]? = nil, hooks: [Hook]? = nil) {
            self.env = env; self.deviceNodes = deviceNodes; self.mounts = mounts; self.hooks = hooks
        }
    }

    public struct DeviceNode: Sendable, Equatable, Codable {
        /// Where the node is in the container.
        public var path: String
        /// The node on the host; the same path when absent.
        public var hostPath: String?
        /// cgroup access, a subset of "rwm" (rootless modes cannot restrict a device: they bind the node).
        public var permissions: String?
        public var type: String?
        public var major: Int64?
        public var minor: Int64?
        public var fileMode: UInt32?
        public init(path: String, hostPath: String? = nil, permissions: String? = nil) {
            self.path = path; self.hostPath = hostPath; self.permissions = permissions
        }
        public var source: String { hostPath ?? path }
    }

    public struct Mount: Sendable, Equatable, Codable {
        public var hostPath: String
        public var containerPath: String
        /// mount(8) options: `ro` makes the mount read-only where the mode can; others are left to the runtime.
        public var options: [String]?
        public var type: String?
        public init(hostPath: String, containerPath: String, options: [String]? = nil) {
            self.hostPath = hostPath; self.containerPath = containerPath; self.options = options
        }
        public var readOnly: Bool { options?.contains("ro") ?? false }
    }

    /// An OCI hook: `path` is run with `args` (args[0] is the program's name) and `env`, the container's state on
    /// its stdin.
    public struct Hook: Sendable, Hashable, Codable {
        /// prestart, createRuntime, createContainer, startContainer, poststart, poststop.
        public var hookName: String
        public var path: String
        public var args: [String]?
        public var env: [String]?
        public var timeout: Int?
        public init(hookName: String, path: String, args: [String]? = nil, env: [String]? = nil, timeout: Int? = nil) {
            self.hookName = hookName; self.path = path; self.args = args; self.env = env; self.timeout = timeout
        }
    }

    /// The cdiVersions this udocker reads: 0.3.0 (the first with `hostPath` on device nodes) to 0.8.0.
    public static let supportedVersions = ["0.3.0", "0.4.0", "0.5.0", "0.6.0", "0.7.0", "0.8.0"]
    public static let hookNames: Set<String> = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]
}

/// A fully qualified CDI device name, `VENDOR/CLASS=NAME` (`nvidia.com/gpu=0`, `example.com/gpu=all`).
public struct CDIDeviceName: Sendable, Hashable, CustomStringConvertible {
    public var kind: String
    public var name: String

    public init(kind: String, name: String) { self.kind = kind; self.name = name }

    /// nil when `text` is not a qualified name (a `/dev/…` path is udocker 1.3's --device).
    public init?(_ text: String) {
        guard let equals = text.firstIndex(of: "="), !text.hasPrefix("/") else { return nil }
        let kind = String(text[..<equals]), name = String(text[text.index(after: equals)...])
        guard Self.isKind(kind), Self.isDeviceName(name) else { return nil }
        self.kind = kind; self.name = name
    }

    public var description: String { kind + "=" + name }

    /// `VENDOR/CLASS`: a vendor is a domain-like name (letters, digits, `-`, `.`, starting and ending with a
    /// letter or digit), a class letters, digits, `-`, `_`, `.`.
    public static func isKind(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let vendor = parts.first, let kindClass = parts.last, !vendor.isEmpty, !kindClass.isEmpty else { return false }
        func alnum(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber) }
        return vendor.allSatisfy { alnum($0) || $0 == "-" || $0 == "." } && alnum(vendor.first!) && alnum(vendor.last!)
            && kindClass.allSatisfy { alnum($0) || "-_.".contains($0) } && alnum(kindClass.first!)
    }

    /// Letters, digits, `-`, `_`, `.`, `:`, starting and ending with a letter or digit.
    public static func isDeviceName(_ text: String) -> Bool {
        func alnum(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber) }
        guard let first = text.first, let last = text.last, alnum(first), alnum(last) else { return false }
        return text.allSatisfy { alnum($0) || "-_.:".contains($0) }
    }
}
