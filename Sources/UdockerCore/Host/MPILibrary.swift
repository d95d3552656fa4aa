import Foundation

/// An MPI library as the ABI check sees it: its family (by soname: Open MPI's libmpi.so.40, or the MPICH ABI's
/// libmpi.so.12 — MPICH, Intel MPI, MVAPICH, Cray MPICH — which Debian's MPICH names libmpich.so.12), the
/// soname's major, the version where the library states it (Open MPI's "v4.1.4"), and its ELF class and machine.
public struct MPILibrary: Sendable, Equatable, Codable {
    public enum Family: String, Sendable, Codable {
        case openMPI = "Open MPI"
        case mpich = "MPICH ABI"
    }

    public var family: Family
    /// The soname programs ask for, e.g. libmpi.so.40.
    public var soname: String
    public var major: Int
    /// The file (links resolved) on this host.
    public var file: String
    /// major.minor.release when the library states it (Open MPI); nil otherwise.
    public var version: String?
    public var machine: UInt16

    /// The sonames of MPI libraries, with their family and major.
    public static let sonames: [String: (Family, Int)] = [
        "libmpi.so.40": (.openMPI, 40), "libmpi.so.12": (.mpich, 12), "libmpich.so.12": (.mpich, 12),
    ]

    /// nil when `file` is not an MPI library named in `sonames` (by its DT_SONAME, else by `soname`).
    public init?(file: String, soname: String? = nil) {
        guard let elf = ElfFile(path: file), let identity = ElfIdentity(path: file),
              let name = elf.soname ?? soname, let (family, major) = Self.sonames[name] else { return nil }
        self.family = family; self.soname = name; self.major = major
        self.file = LibraryClosure.realPath(file)
        self.version = family == .openMPI ? Self.openMPIVersion(in: file) : nil
        self.machine = identity.machine
    }

    /// What verdicts and refusals name: `Open MPI 4.1.4 (libmpi.so.40)`.
    public var description: String {
        "\(family == .openMPI ? "Open MPI" : "MPICH ABI")\(version.map { " " + $0 } ?? "") (\(soname))"
    }

    /// (major, minor) of `version`.
    public var majorMinor: (Int, Int)? {
        let parts = (version ?? "").split(separator: ".").map { Int($0.prefix { $0.isNumber }) }
        guard parts.count >= 2, let major = parts[0], let minor = parts[1] else { return nil }
        return (major, minor)
    }

    /// Open MPI's library holds its version as a string of its own, "v4.1.4" (also "v5.0.7", "v4.1.5rc2").
    static func openMPIVersion(in file: String) -> String? {
        guard let data = FileManager.default.contents(atPath: file) else { return nil }
        var found: String?
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let bytes = raw.bindMemory(to: UInt8.self)
            var start = 0
            for index in 0..<bytes.count where bytes[index] == 0 {
                defer { start = index + 1 }
                let length = index - start
                guard length >= 6, length <= 16, bytes[start] == UInt8(ascii: "v") else { continue }
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[(start + 1)..<index]), as: UTF8.self)
                if isVersion(text) { found = text; return }
            }
        }
        return found
    }

    /// 4.1.4, 5.0.7, 4.1.5rc2: three dot-separated numbers, the last possibly followed by a pre-release tag.
    static func isVersion(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ $0.first?.isNumber == true }) else { return false }
        return parts.dropLast().allSatisfy { $0.allSatisfy(\.isNumber) }
            && parts[2].allSatisfy { $0.isNumber || $0.isLetter }
    }
}
