import Foundation

/// udocker's credential store: a JSON file (`keystore` in the repository's top dir, `UDOCKER_KEYSTORE` moves it)
/// mapping a registry URL to `{"auth": base64("user:password"), "email": ""}`, exactly as udocker 1.3 writes it.
/// The file is created 0600; one readable by group or others, or owned by someone else, is refused.
public struct KeyStore: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// `base64(user:password)` for a registry URL. A stored key matches with or without its scheme, as udocker's
    /// does, so credentials given for `https://host` serve `http://host` after an insecure fallback too.
    public func credential(for registry: String) throws -> String? {
        let entries = try read()
        let key = entries[registry] != nil ? registry
            : entries.keys.sorted().first { URLParts.withoutScheme($0) == URLParts.withoutScheme(registry) }
        return key.flatMap { (entries[$0] as? [String: Any])?["auth"] as? String }.flatMap { $0.isEmpty ? nil : $0 }
    }

    public func store(username: String, password: String, for registry: String) throws {
        var entries = try read()
        entries[registry] = ["auth": Self.encode(username: username, password: password), "email": ""]
        try write(entries)
    }

    /// Removes one registry's credentials; false when there were none.
    @discardableResult
    public func remove(_ registry: String) throws -> Bool {
        var entries = try read()
        guard entries.removeValue(forKey: registry) != nil else { return false }
        try write(entries)
        return true
    }

    /// `logout -a`: overwrites and deletes the file.
    public func removeAll() throws {
        guard FileSystem.exists(path) else { return }
        try checkAccess()
        shred()
        try FileSystem.removeFile(path)
    }

    public static func encode(username: String, password: String) -> String {
        Data("\(username):\(password)".utf8).base64EncodedString()
    }

    // MARK: file

    private func read() throws -> [String: Any] {
        guard FileSystem.exists(path) else { return [:] }
        try checkAccess()
        let data = try FileSystem.read(path)
        if data.allSatisfy({ $0 == 0x20 || $0 == 0x0a }) { return [:] }   // shredded by udocker 1.3
        guard let entries = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw UdockerError(.invalidInput, "keystore \(path) is not a JSON object")
        }
        return entries
    }

    private func write(_ entries: [String: Any]) throws {
        if FileSystem.exists(path) { try checkAccess() }
        let data = try JSONSerialization.data(withJSONObject: entries, options: [.sortedKeys, .withoutEscapingSlashes])
        shred()
        try FileSystem.atomicWrite(data, to: path, mode: 0o600)
    }

    /// As udocker does: overwrite the old credentials in place before the file is replaced or removed.
    private func shred() {
        let fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return }
        let size = Int(FileSystem.size(path))
        if size > 0 {
            let spaces = [UInt8](repeating: 0x20, count: size)
            _ = spaces.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, size) }
            fsync(fd)
        }
        close(fd)
    }

    /// The file must be the user's own, a regular file, and closed to group and others.
    private func checkAccess() throws {
        var st = stat()
        guard lstat(path, &st) == 0 else { throw UdockerError.posix("cannot read keystore", path) }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw UdockerError(.permission, "keystore \(path) is not a regular file")
        }
        guard st.st_uid == geteuid() else { throw UdockerError(.permission, "keystore \(path) is not owned by you") }
        guard st.st_mode & 0o077 == 0 else {
            throw UdockerError(.permission, "keystore \(path) is accessible to group or others (mode "
                               + String(format: "%04o", st.st_mode & 0o7777) + "): chmod 600 it")
        }
    }
}
