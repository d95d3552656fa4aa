import Foundation

/// A background server (a registry, a helper script's server, a SLURM daemon) whose output goes to a log file the
/// test can read while it runs. Killed, with its whole process group, when the test drops it, at `lifetime`,
/// and at the latest when the test process exits.
public final class Daemon: @unchecked Sendable {
    public let name: String
    public let logPath: String
    private let command: RunningCommand

    /// Starts `argv` as this process with its environment plus `env`, appending stdout and stderr to `log`.
    public init(_ name: String, _ argv: [String], log: String, env: [String: String] = [:],
                lifetime: Duration = .seconds(900)) throws {
        self.name = name
        logPath = log
        command = try Command.start(["/bin/sh", "-c", #"exec "$0" "$@" >>"$DAEMON_LOG" 2>&1"#] + argv,
                                    env: env.merging(["DAEMON_LOG": log]) { $1 }, timeout: lifetime)
    }

    /// The pid of the process group's leader (the daemon itself, `sh` having exec'd it).
    public var pid: pid_t { command.pid }

    /// True while the process has not exited (it is reaped as soon as it does).
    public var isRunning: Bool { kill(command.pid, 0) == 0 }

    public func stop() {
        command.kill(SIGKILL)
        _ = command.wait()
    }

    deinit { stop() }

    public var log: String { (try? Files.read(logPath)) ?? "" }
}

/// TCP on 127.0.0.1, for daemons the tests start (never on fixed ports: other test runs share the machine).
public enum Loopback {
    /// A TCP port nothing listens on right now.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw TestSupportError("cannot bind a loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// `count` distinct ports nothing listens on right now.
    public static func freePorts(_ count: Int) throws -> [Int] {
        var ports: Set<Int> = []
        while ports.count < count { ports.insert(try freePort()) }
        return Array(ports)
    }

    /// Waits until something accepts connections on the port.
    public static func waitForListener(_ port: Int, daemon: Daemon) throws {
        let accepting = Poll.until(timeout: .seconds(10), interval: .milliseconds(20)) {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(port).bigEndian
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
        }
        guard accepting else { throw TestSupportError("\(daemon.name) did not listen on \(port): \(daemon.log)") }
    }
}
