import Foundation

/// Runs a helper program (patchelf, a loader's --list, a probe) to completion. Unlike the exec path, the
/// child gets only stdin from /dev/null, the captured stdout, and stderr per `stderr`; every other
/// descriptor is closed in it.
public enum Subprocess {
    public enum ErrorOutput: Sendable { case discard, inherit, capture }

    public struct Result: Sendable {
        public var status: Int32
        public var output: String
        public var errorOutput: String
        public var succeeded: Bool { status == 0 }
    }

    public static func run(_ arguments: [String], environment: [String]? = nil, stderr: ErrorOutput = .discard,
                           workingDirectory: String? = nil) throws -> Result {
        var outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        guard pipe(&outPipe) == 0, pipe(&errPipe) == 0 else { throw UdockerError.posix("cannot create pipe for", arguments[0]) }
        for fd in outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        switch stderr {
        case .discard: posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        case .capture: posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        case .inherit: break
        }
        _ = LinuxCalls.spawnAddClosefrom(&actions, 3)
        if let workingDirectory, !LinuxCalls.spawnAddChdir(&actions, workingDirectory) {
            throw UdockerError(.internalError, "cannot set the working directory of \(arguments[0])")
        }
        let argv = arguments.map { strdup($0) } + [nil]
        let env = environment ?? ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }
        let envp = env.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, arguments[0], &actions, nil, argv, envp)
        close(outPipe[1]); close(errPipe[1])
        defer { close(outPipe[0]); close(errPipe[0]) }
        guard rc == 0 else { throw UdockerError.posix("cannot execute", arguments[0], errno: rc) }
        // Drain both pipes together so a chatty child cannot block on a full one.
        var out = Data(), err = Data()
        var fds = [pollfd(fd: outPipe[0], events: Int16(POLLIN), revents: 0), pollfd(fd: errPipe[0], events: Int16(POLLIN), revents: 0)]
        var open = 2
        var buffer = [UInt8](repeating: 0, count: 65536)
        while open > 0 {
            if poll(&fds, 2, -1) < 0 { if errno == EINTR { continue }; break }
            for i in 0..<2 where fds[i].fd >= 0 && fds[i].revents != 0 {
                let n = read(fds[i].fd, &buffer, buffer.count)
                if n > 0 { if i == 0 { out.append(buffer, count: n) } else { err.append(buffer, count: n) } }
                else if n == 0 || errno != EINTR { fds[i].fd = -1; open -= 1 }
            }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Result(status: exit, output: String(decoding: out, as: UTF8.self), errorOutput: String(decoding: err, as: UTF8.self))
    }

    /// Runs `commands` with up to `width` at a time, stdio on /dev/null, and returns each one's exit status (127
    /// when it could not start). Child processes, not threads: a process that goes on to create a user namespace
    /// must still be single-threaded, and worker threads, once started, never go away.
    public static func runConcurrently(_ commands: [[String]], width: Int = 2 * ProcessInfo.processInfo.activeProcessorCount) -> [Int32] {
        var statuses = [Int32](repeating: 127, count: commands.count)
        var running: [pid_t: Int] = [:]
        var next = 0
        func reapOne() {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, 0)
            if pid < 0 { if errno == ECHILD { running.removeAll() }; return }
            guard let index = running.removeValue(forKey: pid) else { return }
            statuses[index] = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        }
        while next < commands.count || !running.isEmpty {
            if next < commands.count && running.count < max(width, 1) {
                if let pid = spawnQuietly(commands[next]) { running[pid] = next }
                next += 1
            } else {
                reapOne()
            }
        }
        return statuses
    }

    private static func spawnQuietly(_ arguments: [String]) -> pid_t? {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        _ = LinuxCalls.spawnAddClosefrom(&actions, 3)
        let argv = arguments.map { strdup($0) } + [nil], envp: [UnsafeMutablePointer<CChar>?] = [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        return posix_spawn(&pid, arguments[0], &actions, nil, argv, envp) == 0 ? pid : nil
    }
}
