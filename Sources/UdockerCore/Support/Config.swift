import Foundation

/// udocker 1.3's configuration: built-in defaults, then `udocker.conf` files (/etc, ~/.udocker, the repository's
/// top dir, `--config=FILE`), then UDOCKER_* environment variables, then command-line overrides.
/// Values are kept as strings under udocker's own key names so any udocker.conf keeps working;
/// typed accessors below read them.
public struct Config: Sendable {
    public private(set) var values: [String: String]

    public static let defaults: [String: String] = [
        "verbose_level": "3",
        "config": "udocker.conf",
        "keystore": "keystore",
        "tmpdir": "/tmp",
        "dockerio_index_url": "https://hub.docker.com",
        "dockerio_registry_url": "https://registry-1.docker.io",
        "default_execution_mode": "P1",
        "override_default_execution_mode": "",
        "use_proot_executable": "",
        "use_runc_executable": "",
        "use_singularity_executable": "",
        "use_patchelf_executable": "",
        "fakechroot_so": "",
        "tarball": "",
        "fakechroot_libc": "",
        "http_proxy": "",
        "http_insecure": "false",
        "timeout": "12",
        "ctimeout": "6",
        "download_timeout": "1800",
        "root_path": "/usr/sbin:/sbin:/usr/bin:/bin",
        "user_path": "/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin",
        "sysdirs_list": "/dev /proc /sys /etc/resolv.conf /etc/host.conf /lib/modules",
        "cmd": "bash -i",
    ]

    /// Environment variable → config key, exactly as udocker 1.3 maps them.
    public static let environmentKeys: [(String, String)] = [
        ("UDOCKER_LOGLEVEL", "verbose_level"), ("UDOCKER_DIR", "topdir"), ("UDOCKER_BIN", "bindir"),
        ("UDOCKER_LIB", "libdir"), ("UDOCKER_DOC", "docdir"), ("UDOCKER_REPOS", "reposdir"),
        ("UDOCKER_LAYERS", "layersdir"), ("UDOCKER_CONTAINERS", "containersdir"),
        ("UDOCKER_INDEX", "dockerio_index_url"), ("UDOCKER_REGISTRY", "dockerio_registry_url"),
        ("UDOCKER_DEFAULT_EXECUTION_MODE", "override_default_execution_mode"),
        ("UDOCKER_FAKECHROOT_SO", "fakechroot_so"), ("UDOCKER_FAKECHROOT_LIBC", "fakechroot_libc"),
        ("UDOCKER_TMP", "tmpdir"), ("UDOCKER_TARBALL", "tarball"), ("UDOCKER_KEYSTORE", "keystore"),
        ("UDOCKER_USE_PROOT_EXECUTABLE", "use_proot_executable"),
        ("UDOCKER_USE_RUNC_EXECUTABLE", "use_runc_executable"),
        ("UDOCKER_USE_SINGULARITY_EXECUTABLE", "use_singularity_executable"),
        ("UDOCKER_USE_PATCHELF_EXECUTABLE", "use_patchelf_executable"),
        ("UDOCKER_FAKECHROOT_CMD_SUBST", "fakechroot_cmd_subst"),
    ]

    public init(values: [String: String]) { self.values = values }

    /// Builds the configuration the way udocker 1.3 does. `environment` is passed in so tests can control it.
    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment,
                            configFile: String? = nil, topDirOverride: String? = nil) throws -> Config {
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        var values = defaults
        values["homedir"] = home + "/.udocker"
        // The top directory is known before any file is read so that `%(topdir)s` in a file means the real one.
        values["topdir"] = topDirOverride ?? environment["UDOCKER_DIR"] ?? values["homedir"]
        values["tmpdir"] = environment["TMPDIR"] ?? "/tmp"

        var files = ["/etc/udocker.conf", values["homedir"]! + "/udocker.conf"]
        if let top = topDirOverride ?? environment["UDOCKER_DIR"] { files.append(top + "/udocker.conf") }
        for file in files where FileManager.default.isReadableFile(atPath: file) {
            try IniFile.read(path: file, into: &values)
        }
        if let configFile {
            // Missing and unreadable are different mistakes: say which.
            guard access(configFile, R_OK) == 0 else {
                if errno == ENOENT { throw UdockerError(.notFound, "config file not found: \(configFile)") }
                throw UdockerError.posix("cannot read config file", configFile)
            }
            try IniFile.read(path: configFile, into: &values)
        }
        for (variable, key) in environmentKeys {
            if let value = environment[variable], !value.isEmpty { values[key] = value }
        }
        if let topDirOverride { values["topdir"] = topDirOverride }
        return Config(values: values)
    }

    public subscript(key: String) -> String? {
        get { values[key].flatMap { $0.isEmpty ? nil : $0 } }
        set { values[key] = newValue }
    }

    public func bool(_ key: String) -> Bool {
        ["1", "true", "yes", "on"].contains((values[key] ?? "").lowercased())
    }

    public func int(_ key: String, default fallback: Int) -> Int { Int(values[key] ?? "") ?? fallback }

    public func list(_ key: String) -> [String] {
        (values[key] ?? "").split(whereSeparator: { $0 == " " || $0 == "," || $0 == ":" }).map(String.init)
    }

    public var topDir: String { Paths.trimTrailingSlashes(values["topdir"] ?? "") }
    public var homeDir: String { values["homedir"] ?? "" }
    public var tmpDir: String { self["tmpdir"] ?? "/tmp" }
    public var verbosity: LogLevel { LogLevel(rawValue: int("verbose_level", default: 3)) ?? .info }
}

/// The subset of Python's ConfigParser that udocker.conf files use: a [DEFAULT] section (other sections are
/// ignored, as udocker ignores them), `key = value` or `key: value`, `#`/`;` comments, and `%(key)s` references.
enum IniFile {
    static func read(path: String, into values: inout [String: String]) throws {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw UdockerError(.io, "cannot read config file \(path)", cause: error)
        }
        var inDefault = true
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") { inDefault = line == "[DEFAULT]"; continue }
            guard inDefault, let sep = line.firstIndex(where: { $0 == "=" || $0 == ":" }) else { continue }
            let key = line[..<sep].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: sep)...].trimmingCharacters(in: .whitespaces)
            values[key] = interpolate(value, values)
        }
    }

    static func interpolate(_ value: String, _ values: [String: String]) -> String {
        var result = value
        while let start = result.range(of: "%("), let end = result.range(of: ")s", range: start.upperBound..<result.endIndex) {
            let key = String(result[start.upperBound..<end.lowerBound])
            result.replaceSubrange(start.lowerBound..<end.upperBound, with: values[key] ?? "")
        }
        return result
    }
}
