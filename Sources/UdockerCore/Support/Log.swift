import Foundation

/// Message levels of udocker 1.3 (`verbose_level`, UDOCKER_LOGLEVEL): -q sets `message`, -D sets `debug`.
public enum LogLevel: Int, Comparable, Sendable {
    case silent = -1, error = 0, message = 1, warning = 2, info = 3, verbose = 4, debug = 5
    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }
}

/// Diagnostics go to stderr so that stdout carries only what a command is asked to print.
public enum Log {
    /// Set once by the command line front end before any work starts.
    nonisolated(unsafe) public static var level: LogLevel = .info

    public static func error(_ text: @autoclosure () -> String) { emit(.error, "", text) }
    public static func warning(_ text: @autoclosure () -> String) { emit(.warning, "Warning: ", text) }
    public static func info(_ text: @autoclosure () -> String) { emit(.info, "Info: ", text) }
    public static func verbose(_ text: @autoclosure () -> String) { emit(.verbose, "Info: ", text) }
    public static func debug(_ text: @autoclosure () -> String) { emit(.debug, "Debug: ", text) }

    public static func isEnabled(_ wanted: LogLevel) -> Bool { wanted <= level }

    /// The message is built only when its level is shown (a debug line may format a whole exec plan).
    private static func emit(_ wanted: LogLevel, _ prefix: String, _ text: () -> String) {
        guard isEnabled(wanted) else { return }
        Output.stderr(prefix + text() + "\n")
    }
}

/// Unbuffered writes to the standard streams; used instead of print() so output ordering survives execve.
public enum Output {
    public static func stdout(_ text: String) { write(1, text) }
    public static func stderr(_ text: String) { write(2, text) }

    private static func write(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return }
            bytes = bytes.dropFirst(n)
        }
    }
}
