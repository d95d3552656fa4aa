import Foundation

/// Where `save` and `export` write their tarball: standard output, or a file that appears only when complete
/// (written under a temporary name in the same directory, fsynced, then renamed into place).
public enum TarOutput: Sendable, Equatable {
    case standardOutput
    case file(String)

    /// `-` or no value means standard output.
    public init(_ argument: String?) {
        if let argument, argument != "-" { self = .file(argument) } else { self = .standardOutput }
    }

    /// Runs `body` with the descriptor to write to. On failure a partial file is removed.
    public func write(_ body: (Int32) throws -> Void) throws {
        switch self {
        case .standardOutput:
            guard isatty(1) == 0 else { throw UdockerError(.usage, "refusing to write a tar archive to a terminal") }
            try body(1)
        case .file(let path):
            let temp = Paths.dirname(path) + "/." + Paths.basename(path) + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            guard fd >= 0 else { throw UdockerError.posix("cannot create", path) }
            do {
                try body(fd)
                guard fsync(fd) == 0 else { throw UdockerError.posix("cannot write", path) }
            } catch {
                close(fd)
                unlink(temp)
                throw error
            }
            close(fd)
            guard rename(temp, path) == 0 else {
                let error = UdockerError.posix("cannot create", path)
                unlink(temp)
                throw error
            }
        }
    }
}
