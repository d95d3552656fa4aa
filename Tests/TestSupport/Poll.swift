import Foundation

/// Waiting for something another process does (a daemon answering, a directory appearing).
public enum Poll {
    /// Checks `condition` every `interval` until it holds (true) or `timeout` passes (false).
    public static func until(timeout: Duration = .seconds(10), interval: Duration = .milliseconds(10),
                             _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = ContinuousClock.now + timeout
        while true {
            if try condition() { return true }
            if ContinuousClock.now >= deadline { return false }
            let (seconds, attoseconds) = interval.components
            usleep(UInt32(seconds * 1_000_000 + attoseconds / 1_000_000_000_000))
        }
    }
}
