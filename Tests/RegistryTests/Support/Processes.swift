import Foundation
import TestSupport

/// Runs a helper command (openssl, umoci, skopeo, the helper script) that must succeed.
@discardableResult
func mustRun(_ argv: [String], stdin: String? = nil) throws -> CommandResult {
    let result = try Command.run(argv, stdin: stdin.map { Data($0.utf8) })
    guard result.succeeded else { throw TestSupportError("helper command failed:\n\(result)") }
    return result
}

func executablesInPath(_ names: [String]) -> Bool {
    let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
    return names.allSatisfy { name in path.contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") } }
}

/// A background server (docker-registry, the helper script's servers) whose output goes to a log file the test
/// can read while it runs. Killed when the test drops it (and, by TestSupport, when the test process exits).
final class Daemon {
    let name: String
    let logPath: String
    private let command: RunningCommand

    init(_ name: String, _ argv: [String], log: String) throws {
        self.name = name
        logPath = log
        command = try Command.start(["/bin/sh", "-c", #"exec "$0" "$@" >>"$DAEMON_LOG" 2>&1"#] + argv,
                                    env: ["DAEMON_LOG": log], timeout: .seconds(900))
    }

    func stop() {
        command.kill(SIGKILL)
        _ = command.wait()
    }

    deinit { stop() }

    var log: String { (try? Files.read(logPath)) ?? "" }
}

enum Loopback {
    /// A TCP port nothing listens on right now.
    static func freePort() throws -> Int {
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

    /// Waits until something accepts connections on the port.
    static func waitForListener(_ port: Int, daemon: Daemon) throws {
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
