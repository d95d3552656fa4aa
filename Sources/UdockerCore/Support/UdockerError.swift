import Foundation

/// The one error type of the project: a code a caller can branch on, a one-line message a user can act on,
/// and the underlying cause when there is one. The CLI prints `Error: <description>` and exits non-zero.
public struct UdockerError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        case usage, notFound, alreadyExists, invalidInput, io, protected, permission
        case registry, authentication, digestMismatch, network
        case engine, unsupported, internalError
    }

    public let code: Code
    public let message: String
    public let cause: String?
    /// The process's exit status when this error ends it: 1, or the shell's 127 for a command that is not there.
    public var exitStatus: Int32 = 1

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause.map { String(describing: $0) }
    }

    /// The command to run in the container is not there (or cannot be executed): status 127, as docker's and a
    /// shell's.
    public static func commandNotFound(_ message: String) -> UdockerError {
        var error = UdockerError(.notFound, message)
        error.exitStatus = 127
        return error
    }

    public var description: String {
        guard let cause, !cause.isEmpty else { return message }
        return "\(message): \(cause)"
    }

    /// An error from a failed system call, with errno's text as the cause.
    public static func posix(_ operation: String, _ path: String, errno code: Int32 = errno) -> UdockerError {
        let mapped: Code
        switch code {
        case ENOENT: mapped = .notFound
        case EEXIST: mapped = .alreadyExists
        case EACCES, EPERM: mapped = .permission
        default: mapped = .io
        }
        return UdockerError(mapped, "\(operation) \(path)", cause: POSIXErrorText(code: code))
    }
}

/// strerror() text as an Error, so `cause` reads naturally ("No such file or directory").
public struct POSIXErrorText: Error, CustomStringConvertible, Sendable {
    public let code: Int32
    public var description: String { String(cString: strerror(code)) }
}
