import Foundation
import Yams

/// Reading one CDI spec file: YAML (with Yams, which parses with libyaml) or JSON, then every check that does not
/// depend on which devices a run asks for. Every problem is one line that names the file.
public enum CDISpecLoading {
    public static let fileExtensions = [".yaml", ".yml", ".json"]

    public static func load(_ path: String) throws -> CDISpec {
        try checkTrusted(path)
        let text: String
        do { text = try FileSystem.readString(path) } catch { throw problem(path, "cannot be read (\(error))") }
        let spec: CDISpec
        do {
            if path.hasSuffix(".json") {
                spec = try JSONDecoder().decode(CDISpec.self, from: Data(text.utf8))
            } else {
                spec = try YAMLDecoder().decode(CDISpec.self, from: text)
            }
        } catch {
            throw problem(path, "is not a valid CDI spec: " + describe(error))
        }
        try validate(spec, path: path)
        return spec
    }

    /// A spec names programs that R1 runs (hooks) and files every mode binds: it must be the administrator's or
    /// the invoking user's, and writable by no one else, like the directory it is in.
    static func checkTrusted(_ path: String) throws {
        for (what, file) in [("spec", path), ("directory", Paths.dirname(path))] {
            var st = stat()
            guard stat(file, &st) == 0 else { throw problem(path, "cannot be read (\(String(cString: strerror(errno))))") }
            guard st.st_uid == 0 || st.st_uid == getuid() else {
                throw problem(path, "is not trusted: its \(what) belongs to uid \(st.st_uid), neither root nor you")
            }
            guard st.st_mode & 0o022 == 0 else {
                throw problem(path, "is not trusted: its \(what) is writable by others (mode \(String(st.st_mode & 0o7777, radix: 8)))")
            }
        }
    }

    static func validate(_ spec: CDISpec, path: String) throws {
        guard CDISpec.supportedVersions.contains(spec.cdiVersion) else {
            throw problem(path, "has unknown cdiVersion \(spec.cdiVersion) (this udocker reads "
                          + "\(CDISpec.supportedVersions.first!) to \(CDISpec.supportedVersions.last!))")
        }
        guard CDIDeviceName.isKind(spec.kind) else { throw problem(path, "has an invalid kind \"\(spec.kind)\" (expected VENDOR/CLASS)") }
        guard !spec.devices.isEmpty else { throw problem(path, "defines no devices") }
        var names = Set<String>()
        for device in spec.devices {
            guard CDIDeviceName.isDeviceName(device.name) else { throw problem(path, "has an invalid device name \"\(device.name)\"") }
            guard names.insert(device.name).inserted else { throw problem(path, "defines device \(device.name) twice") }
            try validate(device.containerEdits, path: path, owner: "device \(device.name)")
        }
        if let edits = spec.containerEdits { try validate(edits, path: path, owner: "containerEdits") }
    }

    static func validate(_ edits: CDISpec.ContainerEdits, path: String, owner: String) throws {
        func check(_ value: String, _ what: String) throws {
            guard isCleanAbsolute(value) else { throw problem(path, "\(owner): \(what) \"\(value)\" is not an absolute path without ..") }
        }
        for entry in edits.env ?? [] {
            guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex else {
                throw problem(path, "\(owner): env entry \"\(entry)\" is not NAME=VALUE")
            }
        }
        for node in edits.deviceNodes ?? [] {
            try check(node.path, "device node path")
            if let host = node.hostPath { try check(host, "device node hostPath") }
            if let permissions = node.permissions, !permissions.allSatisfy({ "rwm".contains($0) }) {
                throw problem(path, "\(owner): device node \(node.path) has invalid permissions \"\(permissions)\"")
            }
        }
        for mount in edits.mounts ?? [] {
            try check(mount.hostPath, "mount hostPath")
            try check(mount.containerPath, "mount containerPath")
            guard mount.containerPath != "/" else { throw problem(path, "\(owner): a mount over the container's / is not allowed") }
        }
        for hook in edits.hooks ?? [] {
            guard CDISpec.hookNames.contains(hook.hookName) else { throw problem(path, "\(owner): unknown hookName \(hook.hookName)") }
            try check(hook.path, "hook path")
        }
    }

    /// Absolute, and no `..` component (a spec must not reach above the container's root).
    static func isCleanAbsolute(_ path: String) -> Bool {
        path.hasPrefix("/") && !path.split(separator: "/").contains("..")
    }

    static func problem(_ path: String, _ text: String) -> UdockerError {
        UdockerError(.invalidInput, "CDI spec \(path) \(text)")
    }

    /// One line of a parser's or decoder's error.
    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            return "missing \(keyPath(context.codingPath + [key]))"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "\(keyPath(context.codingPath)): \(context.debugDescription)"
        case DecodingError.dataCorrupted(let context):
            let underlying = context.underlyingError.map { describe($0) }
            return underlying ?? (context.codingPath.isEmpty ? context.debugDescription : "\(keyPath(context.codingPath)): \(context.debugDescription)")
        default:
            return String(describing: error).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }.joined(separator: " ")
        }
    }

    private static func keyPath(_ path: [any CodingKey]) -> String {
        path.isEmpty ? "the document" : path.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined().drop { $0 == "." }.description
    }
}
