import Foundation

/// A mounted image's FUSE server killed while ranks run from it (SIGKILL, the OOM killer): every file access of
/// theirs fails from then on with "Transport endpoint is not connected", and a rank stuck in a retry loop would
/// hold the step until its time limit. The server's parent watches it: when it dies by a signal, the parent says
/// so in one line on the standard error of the rank that started it (a copy it holds: a rank's pipe to srun,
/// made by root, cannot be reopened through /proc) and kills every process still in the server's user namespace (the
/// ranks and their children), so the step fails at once, and the namespace and its mounts go with them.
enum ServerLoss {
    /// Waits for `server`, which writes its user namespace (`user:[INODE]`) to `pipe` once it serves; never returns.
    static func watch(_ server: pid_t, namespaceFrom pipe: Int32, image: String, base: String, errorOutput: Int32) -> Never {
        var bytes = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 128)
        while true {
            let n = read(pipe, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        close(pipe)
        let namespace = String(decoding: bytes, as: UTF8.self)
        var status: Int32 = 0
        while waitpid(server, &status, 0) < 0 && errno == EINTR {}
        let signal = status & 0x7f
        if namespace.hasPrefix("user:["), signal != 0, signal != 0x7f {
            stop(processesIn: namespace, image: image, signal: signal, errorOutput: errorOutput)
            unlink(base + ".pid")
            unlink(base + ".binds")
        }
        _exit(0)
    }

    /// Says so first (the ranks may already have failed on their own, with SIGBUS or "Transport endpoint is not
    /// connected"), then kills what is left, a few rounds: killed processes may have forked in between.
    static func stop(processesIn namespace: String, image: String, signal: Int32, errorOutput: Int32) {
        tell(errorOutput, "udocker-launch: the FUSE server of \(image) on \(hostName()) was killed by signal \(signal) while "
             + "the step ran from it: the step's processes on this node are stopped\n")
        for _ in 0..<20 {
            let members = processes(in: namespace)
            if members.isEmpty { return }
            for pid in members { kill(pid, SIGKILL) }
            usleep(20_000)
        }
    }

    /// The processes (ours: others' /proc/PID/ns cannot be read) whose user namespace is `namespace`.
    static func processes(in namespace: String) -> [pid_t] {
        ((try? FileSystem.list("/proc")) ?? []).compactMap { name in
            guard let pid = pid_t(name), pid != getpid(), FileSystem.readLink("/proc/\(name)/ns/user") == namespace else { return nil }
            return pid
        }
    }

    private static func tell(_ fd: Int32, _ line: String) {
        let bytes = Array(line.utf8)
        _ = write(fd, bytes, bytes.count)
    }

    private static func hostName() -> String {
        var name = [CChar](repeating: 0, count: 256)
        return gethostname(&name, name.count) == 0 ? String(cString: name) : "this node"
    }
}
