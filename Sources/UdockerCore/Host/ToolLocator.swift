import Foundation

/// Finds the external programs engines drive (proot, runc, crun, patchelf, apptainer, …).
public struct ToolLocator: Sendable {
    public var searchPath: [String]
    /// The repository's bin/ directory, searched after an explicit override and before PATH (udocker 1.3 order).
    public var repositoryBin: String?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment, repositoryBin: String? = nil) {
        searchPath = (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map(String.init)
            + ["/usr/sbin", "/sbin"]
        self.repositoryBin = repositoryBin
    }

    /// `override` is a config value such as use_proot_executable: an absolute path, or a name to look up.
    public func find(_ names: [String], override: String? = nil) -> String? {
        if let override, !override.isEmpty, override != "UDOCKER" {
            if override.hasPrefix("/") { return isExecutable(override) ? override : nil }
            return lookup(override)
        }
        for name in names { if let found = lookup(name) { return found } }
        return nil
    }

    private func lookup(_ name: String) -> String? {
        for dir in (repositoryBin.map { [$0] } ?? []) + searchPath where isExecutable(dir + "/" + name) {
            return dir + "/" + name
        }
        return nil
    }

    private func isExecutable(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG && access(path, X_OK) == 0
    }
}
