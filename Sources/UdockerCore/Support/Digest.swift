import CCrypto
import Foundation

/// libcrypto, loaded once per process before the first hash (see OnDemandLibrary).
enum CryptoRuntime {
    static func load() throws { if let failure { throw failure } }

    private static let failure: UdockerError? =
        OnDemandLibrary.load("libcrypto.so.3", neededFor: "computing SHA-256 digests", install: "OpenSSL 3 (Debian: libssl3)",
                             ud_crypto_load)
}

/// Streaming SHA-256 over OpenSSL's EVP interface (hardware-accelerated where the CPU has SHA extensions).
/// The only file that sees CCrypto.
public final class SHA256Hasher {
    private let context: OpaquePointer

    public init() throws {
        try CryptoRuntime.load()
        context = EVP_MD_CTX_new()
        EVP_DigestInit_ex(context, EVP_sha256(), nil)
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ buffer: UnsafeRawBufferPointer) {
        if let base = buffer.baseAddress, buffer.count > 0 { EVP_DigestUpdate(context, base, buffer.count) }
    }

    public func update(_ data: Data) { data.withUnsafeBytes { update($0) } }

    /// The digest in OCI form, `sha256:<64 hex>`.
    public func finalize() -> String {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &out, &length)
        return "sha256:" + out[0..<Int(length)].map { String(format: "%02x", $0) }.joined()
    }
}

public enum Digest {
    public static func sha256(_ data: Data) throws -> String {
        let hasher = try SHA256Hasher()
        hasher.update(data)
        return hasher.finalize()
    }

    /// Hashes a file by streaming it in 1 MiB reads.
    public static func sha256(file path: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw UdockerError.posix("cannot read", path) }
        defer { close(fd) }
        return try sha256(descriptor: fd, path: path)
    }

    /// Hashes what is left to read of an open file (`path` names it in errors), in 1 MiB reads.
    public static func sha256(descriptor fd: Int32, path: String) throws -> String {
        let hasher = try SHA256Hasher()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer.baseAddress, buffer.count)
            if n < 0 { if errno == EINTR { continue }; throw UdockerError.posix("cannot read", path) }
            if n == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        return hasher.finalize()
    }

    /// True for `sha256:` followed by 64 lowercase hex digits: the only algorithm the repository stores.
    public static func isValid(_ digest: String) -> Bool {
        guard digest.hasPrefix("sha256:") else { return false }
        let hex = digest.dropFirst(7)
        return hex.count == 64 && hex.allSatisfy { ("0"..."9").contains($0) || ("a"..."f").contains($0) }
    }
}
