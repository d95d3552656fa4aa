import Foundation

/// A helper process that outlives the rank that starts it and is nobody's child (double fork, own session): the
/// command the rank execs never sees it among its children, and srun does not wait for its output.
enum DetachedProcess {
    /// Runs `body` in the detached process with stdin/stdout/stderr on /dev/null and every other inherited
    /// descriptor closed (locks, PMI_FD), except those in `keeping`. Returns once the intermediate process has exited.
    static func start(keeping: [Int32] = [], _ body: @escaping () -> Never) throws {
        fflush(nil)
        let middle = fork()
        guard middle >= 0 else { throw UdockerError.posix("cannot fork", "") }
        if middle == 0 {
            setsid()
            if fork() == 0 {
                closeDescriptors(except: keeping)
                body()
            }
            _exit(0)
        }
        var status: Int32 = 0
        while waitpid(middle, &status, 0) < 0 && errno == EINTR {}
    }

    private static func closeDescriptors(except keep: [Int32]) {
        let null = open("/dev/null", O_RDWR)
        for fd in Int32(0)...2 { dup2(null, fd) }
        if null > 2 { close(null) }
        let open = ((try? FileSystem.list("/proc/self/fd")) ?? []).compactMap { Int32($0) }
        for fd in open where fd > 2 && !keep.contains(fd) { close(fd) }
    }
}
