import CLinux
import Foundation

/// What a finished command left behind: its exit status and everything it wrote, stdout and stderr kept apart.
public struct CommandResult: Sendable, CustomStringConvertible {
    /// The exit status as a shell reports it: 0-255, or 128+N when killed by signal N.
    public let status: Int32
    public let stdout: Data
    public let stderr: Data
    /// True when the command ran past its timeout and was killed.
    public let timedOut: Bool
    public let argv: [String]

    public var out: String { String(decoding: stdout, as: UTF8.self) }
    public var err: String { String(decoding: stderr, as: UTF8.self) }
    /// stdout split into lines, without the empty string after the final newline.
    public var lines: [String] { out.split(separator: "\n", omittingEmptySubsequences: false).dropLastEmpty() }
    public var errLines: [String] { err.split(separator: "\n", omittingEmptySubsequences: false).dropLastEmpty() }
    public var succeeded: Bool { status == 0 && !timedOut }

    /// For test failure messages: the command, its status and both streams.
    public var description: String {
        "$ \(argv.joined(separator: " "))\nstatus \(status)\(timedOut ? " (timed out)" : "")\n--- stdout\n\(out)--- stderr\n\(err)"
    }
}

extension Array where Element == Substring {
    fileprivate func dropLastEmpty() -> [String] {
        (last == "" ? dropLast() : self[...]).map(String.init)
    }
}

/// Spawns commands with posix_spawn, feeding stdin and collecting stdout and stderr on a dedicated thread,
/// so waiting never blocks Swift's cooperative pool and a full pipe never stalls the child.
/// Each command runs in its own process group; a timeout or `kill` signals the whole group.
public enum Command {
    /// Runs `argv` to completion.
    /// - `user`: nil runs as this process with its environment plus `env`; a `TestUser` runs as that user with
    ///   exactly `env` as the environment (PATH defaults to /usr/bin:/bin), through `runuser` when we are root.
    /// - `directory`: the working directory (default: `/` when running as another user, who may not reach
    ///   ours; else ours).
    @discardableResult
    public static func run(_ argv: [String], stdin: Data? = nil, env: [String: String] = [:], as user: TestUser? = nil,
                           directory: String? = nil, timeout: Duration = .seconds(120)) throws -> CommandResult {
        try start(argv, stdin: stdin, env: env, as: user, directory: directory, timeout: timeout).wait()
    }

    /// Starts `argv` and returns at once; see `run` for the parameters. The process is killed at the timeout,
    /// and at the latest when the test process exits.
    public static func start(_ argv: [String], stdin: Data? = nil, env: [String: String] = [:], as user: TestUser? = nil,
                             directory: String? = nil, timeout: Duration = .seconds(120)) throws -> RunningCommand {
        precondition(!argv.isEmpty, "empty command")
        _ = ignoreSIGPIPE
        var spawnArgv = argv
        var environment: [String: String]
        // env(1) sets the working directory (-C) and, through runuser, the whole environment (-i).
        let cwd = directory ?? (user?.needsRunuser == true ? "/" : nil)
        let chdir = cwd.map { ["-C", $0] } ?? []
        if let user {
            environment = env
            if environment["PATH"] == nil { environment["PATH"] = "/usr/bin:/bin" }
            if user.needsRunuser {
                spawnArgv = ["/usr/sbin/runuser", "-u", user.name, "--", "/usr/bin/env", "-i"] + chdir
                    + environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" } + argv
            } else if !chdir.isEmpty {
                spawnArgv = ["/usr/bin/env"] + chdir + argv
            }
        } else {
            environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
            if !chdir.isEmpty { spawnArgv = ["/usr/bin/env"] + chdir + argv }
        }
        return try RunningCommand(argv: spawnArgv, displayArgv: argv, environment: environment, stdin: stdin, timeout: timeout)
    }

    /// A child that exits without reading all of its stdin must not kill the test process with SIGPIPE: the
    /// write fails with EPIPE instead. (Children get the default disposition back, see `RunningCommand`.)
    private static let ignoreSIGPIPE: Void = { _ = signal(SIGPIPE, SIG_IGN) }()
}

/// A command started by `Command.start`.
public final class RunningCommand: @unchecked Sendable {
    public let pid: pid_t
    private let argv: [String]
    private let done = DispatchSemaphore(value: 0)
    private static let spawnLock = NSLock()
    private var result: CommandResult?

    fileprivate init(argv spawnArgv: [String], displayArgv: [String], environment: [String: String],
                     stdin: Data?, timeout: Duration) throws {
        argv = displayArgv
        // Pipes are made and the child spawned under one lock, so no other spawn inherits our pipe ends
        // (which would hold them open, delaying EOF) in the moment before they are marked close-on-exec.
        Self.spawnLock.lock()
        defer { Self.spawnLock.unlock() }
        let stdinPipe = try Pipe2(), stdoutPipe = try Pipe2(), stderrPipe = try Pipe2()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinPipe.read, 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe.write, 1)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe.write, 2)
        // Nothing else open in this process reaches the child: a descriptor another thread opened without
        // O_CLOEXEC (Foundation's file copies do) would otherwise live as long as the child, and a daemon holding
        // a staged binary open for writing makes every later exec of it fail with "Text file busy".
        ud_spawn_addclosefrom(&actions, 3)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Own process group, so a timeout kills runuser, udocker and proot together; default signal handling.
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let cArgv = spawnArgv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (cArgv + cEnv).forEach { free($0) } }
        var spawned: pid_t = 0
        let rc = spawnArgv[0].hasPrefix("/")
            ? posix_spawn(&spawned, spawnArgv[0], &actions, &attributes, cArgv, cEnv)
            : posix_spawnp(&spawned, spawnArgv[0], &actions, &attributes, cArgv, cEnv)
        for fd in [stdinPipe.read, stdoutPipe.write, stderrPipe.write] { close(fd) }
        guard rc == 0 else {
            for fd in [stdinPipe.write, stdoutPipe.read, stderrPipe.read] { close(fd) }
            throw TestSupportError("cannot start \(spawnArgv[0]): \(String(cString: strerror(rc)))")
        }
        let child = spawned
        pid = child
        ChildRegistry.add(child)

        let deadline = ContinuousClock.now + timeout
        let input = stdin ?? Data()
        let (inFD, outFD, errFD) = (stdinPipe.write, stdoutPipe.read, stderrPipe.read)
        let thread = Thread { [self] in
            let (out, err, pumpTimedOut) = Self.pump(input: input, inFD: inFD, outFD: outFD, errFD: errFD, pid: child, deadline: deadline)
            let (status, reapTimedOut) = Self.reap(child, deadline: deadline)
            ChildRegistry.remove(child)
            result = CommandResult(status: status, stdout: out, stderr: err, timedOut: pumpTimedOut || reapTimedOut, argv: argv)
            done.signal()
        }
        thread.start()
    }

    /// Blocks until the command has ended.
    public func wait() -> CommandResult {
        done.wait()
        done.signal()
        return result!
    }

    /// Sends `signal` to the command's whole process group.
    public func kill(_ signal: Int32 = SIGKILL) {
        Glibc.kill(-pid, signal)
    }

    /// Writes stdin, reads stdout/stderr until both reach EOF. Past the deadline it kills the group, and stops
    /// reading a few seconds later even if something that left the group still holds the pipes.
    private static func pump(input: Data, inFD: Int32, outFD: Int32, errFD: Int32, pid: pid_t,
                             deadline: ContinuousClock.Instant) -> (Data, Data, Bool) {
        var out = Data(), err = Data()
        var inputOffset = 0
        var writer: Int32 = -1
        if input.isEmpty {
            close(inFD)
        } else {
            writer = inFD
            _ = fcntl(writer, F_SETFL, fcntl(writer, F_GETFL) | O_NONBLOCK)
        }
        var open: Set<Int32> = [outFD, errFD]
        var timedOut = false
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !open.isEmpty {
            let now = ContinuousClock.now
            if now >= deadline && !timedOut {
                timedOut = true
                Glibc.kill(-pid, SIGKILL)
            }
            if now >= deadline + .seconds(5) { break }
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if writer >= 0 { fds.append(pollfd(fd: writer, events: Int16(POLLOUT), revents: 0)) }
            let n = poll(&fds, nfds_t(fds.count), Self.milliseconds(until: timedOut ? deadline + .seconds(5) : deadline))
            if n < 0 && errno != EINTR { break }
            for entry in fds where entry.revents != 0 {
                if entry.fd == writer {
                    let count = input.withUnsafeBytes { write(writer, $0.baseAddress! + inputOffset, $0.count - inputOffset) }
                    if count > 0 { inputOffset += count }
                    if (count < 0 && errno != EAGAIN && errno != EINTR) || inputOffset >= input.count {
                        close(writer)
                        writer = -1
                    }
                    continue
                }
                let count = read(entry.fd, &buffer, buffer.count)
                if count > 0 {
                    if entry.fd == outFD { out.append(contentsOf: buffer[..<count]) } else { err.append(contentsOf: buffer[..<count]) }
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    close(entry.fd)
                    open.remove(entry.fd)
                }
            }
        }
        for fd in open { close(fd) }
        if writer >= 0 { close(writer) }
        return (out, err, timedOut)
    }

    /// Waits for the child (which may have closed its pipes and kept running) until the deadline, then kills
    /// its group. Returns the status as a shell reports it, and whether the deadline struck.
    private static func reap(_ pid: pid_t, deadline: ContinuousClock.Instant) -> (Int32, Bool) {
        var status: Int32 = 0
        var timedOut = false
        while true {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { break }
            if reaped < 0 && errno != EINTR { return (-1, timedOut) }
            if ContinuousClock.now >= deadline && !timedOut {
                timedOut = true
                Glibc.kill(-pid, SIGKILL)
            }
            usleep(5_000)
        }
        let signal = status & 0x7f
        return (signal == 0 ? (status >> 8) & 0xff : 128 + signal, timedOut)
    }

    private static func milliseconds(until instant: ContinuousClock.Instant) -> Int32 {
        let (seconds, attoseconds) = (instant - ContinuousClock.now).components
        return Int32(max(1, min(1000, seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)))
    }
}

private struct Pipe2 {
    let read: Int32
    let write: Int32
    init() throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw TestSupportError("pipe: \(String(cString: strerror(errno)))") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        (read, write) = (fds[0], fds[1])
    }
}

/// Process groups still running, killed when the test process exits (daemons, forgotten commands).
enum ChildRegistry {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var pids: Set<pid_t> = []

    static func add(_ pid: pid_t) {
        _ = lock.withLock { pids.insert(pid) }
        CleanupAtExit.install()
    }

    static func remove(_ pid: pid_t) { _ = lock.withLock { pids.remove(pid) } }

    static func killAll() {
        let running = lock.withLock { pids }
        for pid in running { kill(-pid, SIGTERM) }
        if !running.isEmpty { usleep(200_000) }
        for pid in running { kill(-pid, SIGKILL) }
    }
}

/// An error raised by the test harness itself (not by the code under test).
public struct TestSupportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
