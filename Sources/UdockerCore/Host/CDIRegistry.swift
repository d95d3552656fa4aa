import Foundation

/// The CDI devices of this host: every spec file in the spec directories (/etc/cdi, /var/run/cdi, then the
/// user's own, where `udocker setup --nvidia --cdi` writes, unless `--cdi-spec-dir` or UDOCKER_CDI_SPEC_DIRS
/// names others), and the edits a set of devices asks for. As CDI's
/// own registry does, a later directory takes precedence over an earlier one for a device both define; two
/// files of one directory that define the same device are an error.
public struct CDIRegistry: Sendable {
    public struct Source: Sendable, Equatable {
        public var spec: CDISpec
        public var file: String
    }

    public static let defaultDirectories = ["/etc/cdi", "/var/run/cdi"]

    /// Every spec read, in directory order.
    public var sources: [Source]
    /// For each qualified device name, the index in `sources` of the spec that provides it.
    var providers: [CDIDeviceName: Int]

    /// `--cdi-spec-dir` (repeatable), else UDOCKER_CDI_SPEC_DIRS (colon-separated), else the defaults and the
    /// user's own directory.
    public static func directories(explicit: [String], environment: [String: String]) -> [String] {
        if !explicit.isEmpty { return explicit.map(Paths.trimTrailingSlashes) }
        if let list = environment["UDOCKER_CDI_SPEC_DIRS"] {
            return list.split(separator: ":").map { Paths.trimTrailingSlashes(String($0)) }.filter { !$0.isEmpty }
        }
        return defaultDirectories + (userDirectory(environment: environment).map { [$0] } ?? [])
    }

    /// UDOCKER_DIR/cdi, else ~/.udocker/cdi: searched last, so a spec the user wrote there (`udocker setup
    /// --nvidia --cdi`) takes precedence over the site's for a device both define.
    public static func userDirectory(environment: [String: String]) -> String? {
        let top = environment["UDOCKER_DIR"].flatMap { $0.isEmpty ? nil : $0 }
            ?? environment["HOME"].flatMap { $0.isEmpty ? nil : $0 + "/.udocker" }
        return top.map { Paths.trimTrailingSlashes($0) + "/cdi" }
    }

    /// Reads every spec of `directories` (a directory that does not exist has none). The first bad spec is an error.
    public static func load(directories: [String]) throws -> CDIRegistry {
        var sources: [Source] = []
        var providers: [CDIDeviceName: Int] = [:]
        for directory in directories {
            guard FileSystem.isDirectoryFollowingLinks(directory) else { continue }
            var inThisDirectory: [CDIDeviceName: String] = [:]
            let names = ((try? FileSystem.list(directory)) ?? []).sorted()
            for name in names where CDISpecLoading.fileExtensions.contains(where: name.hasSuffix) && !name.hasPrefix(".") {
                let file = directory + "/" + name
                let spec = try CDISpecLoading.load(file)
                for device in spec.devices {
                    let qualified = CDIDeviceName(kind: spec.kind, name: device.name)
                    if let other = inThisDirectory[qualified] {
                        throw CDISpecLoading.problem(file, "defines \(qualified), which \(other) defines too")
                    }
                    inThisDirectory[qualified] = file
                    providers[qualified] = sources.count
                }
                sources.append(Source(spec: spec, file: file))
            }
        }
        return CDIRegistry(sources: sources, providers: providers)
    }

    public init(sources: [Source], providers: [CDIDeviceName: Int]) { self.sources = sources; self.providers = providers }

    /// Whether some spec defines devices of `kind` (`nvidia.com/gpu`).
    public func hasKind(_ kind: String) -> Bool { providers.keys.contains { $0.kind == kind } }

    /// The names of the devices of `kind`, sorted (numbers in numeric order).
    public func deviceNames(kind: String) -> [String] {
        providers.keys.filter { $0.kind == kind }.map(\.name).sorted { a, b in
            if let x = Int(a), let y = Int(b) { return x < y }
            return Int(a) != nil ? true : Int(b) != nil ? false : a < b
        }
    }

    /// The edits of `devices` in the order given, each spec's own edits once before its first device's. `all`,
    /// when a spec does not define a device of that name, is every device of the kind. A device no spec
    /// defines, and a device whose files do not exist on this host, are errors.
    public func edits(for devices: [CDIDeviceName]) throws -> CDIEdits {
        var edits = CDIEdits()
        var specsApplied = Set<Int>(), devicesApplied = Set<CDIDeviceName>()
        for requested in devices {
            let expanded: [CDIDeviceName]
            if providers[requested] != nil {
                expanded = [requested]
            } else if requested.name == "all", hasKind(requested.kind) {
                expanded = deviceNames(kind: requested.kind).map { CDIDeviceName(kind: requested.kind, name: $0) }
            } else {
                let known = deviceNames(kind: requested.kind)
                throw UdockerError(.notFound, "CDI device \(requested) is not defined"
                                   + (known.isEmpty ? " (no spec in the CDI spec directories defines \(requested.kind) devices)"
                                                    : " (\(requested.kind) has \(known.joined(separator: " ")))"))
            }
            for device in expanded where devicesApplied.insert(device).inserted {
                let index = providers[device]!
                let source = sources[index]
                if specsApplied.insert(index).inserted, let common = source.spec.containerEdits {
                    try edits.add(common, from: source.file, owner: source.spec.kind)
                }
                let definition = source.spec.devices.first { $0.name == device.name }!
                try edits.add(definition.containerEdits, from: source.file, owner: device.description)
            }
        }
        return edits
    }
}

/// The edits a run applies for its CDI devices, merged, each with the spec file it came from.
public struct CDIEdits: Sendable, Equatable {
    public struct Item<Value: Sendable & Equatable>: Sendable, Equatable {
        public var value: Value
        /// The spec file.
        public var file: String
        /// The device (`example.com/gpu=0`) or the kind, for the spec's own edits.
        public var owner: String
    }

    public var env: [Item<String>] = []
    public var deviceNodes: [Item<CDISpec.DeviceNode>] = []
    public var mounts: [Item<CDISpec.Mount>] = []
    public var hooks: [Item<CDISpec.Hook>] = []

    public init() {}

    public var isEmpty: Bool { env.isEmpty && deviceNodes.isEmpty && mounts.isEmpty && hooks.isEmpty }

    /// Adds one edits block, checking that the host files it names exist (a spec written for another node, or
    /// before a driver upgrade, names files that are gone).
    mutating func add(_ block: CDISpec.ContainerEdits, from file: String, owner: String) throws {
        for entry in block.env ?? [] { env.append(Item(value: entry, file: file, owner: owner)) }
        for node in block.deviceNodes ?? [] {
            guard FileSystem.exists(node.source) else {
                throw CDISpecLoading.problem(file, "\(owner): device node \(node.source) does not exist on this host")
            }
            if !deviceNodes.contains(where: { $0.value.path == node.path }) { deviceNodes.append(Item(value: node, file: file, owner: owner)) }
        }
        for mount in block.mounts ?? [] {
            guard FileSystem.exists(mount.hostPath) else {
                throw CDISpecLoading.problem(file, "\(owner): mount of \(mount.hostPath), which does not exist on this host")
            }
            mounts.removeAll { $0.value.containerPath == mount.containerPath }
            mounts.append(Item(value: mount, file: file, owner: owner))
        }
        for hook in block.hooks ?? [] where !hooks.contains(where: { $0.value == hook }) {
            hooks.append(Item(value: hook, file: file, owner: owner))
        }
    }

    /// These edits, then `other`'s files and everything of it not already here.
    public mutating func merge(_ other: CDIEdits) {
        for item in other.env where !env.contains(item) { env.append(item) }
        for item in other.deviceNodes where !deviceNodes.contains(where: { $0.value.path == item.value.path }) { deviceNodes.append(item) }
        for item in other.mounts where !mounts.contains(where: { $0.value.containerPath == item.value.containerPath }) { mounts.append(item) }
        for item in other.hooks where !hooks.contains(where: { $0.value == item.value }) { hooks.append(item) }
    }
}
