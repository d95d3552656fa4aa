import Foundation

/// The note a failed stager leaves beside the stage lock (`locks/stage-<key>.lock.failed`): why it failed (the
/// system's reason, such as "No space left on device", else the message), in which job step, and how many
/// stagers in a row failed so. The ranks of a step wait on the lock one after another; without the note each
/// would redo a whole extraction that fails the same way. The second failure for the same reason says so, and
/// the step's ranks after it stop at once. A later step (space freed, the image fixed) tries again; a stage
/// that succeeds removes the note.
struct StageFailure {
    let path: String
    let rank: RankContext

    struct Note: Codable, Equatable {
        var step: String
        var reason: String
        var message: String
        var count: Int
        var by: String
    }

    /// Under the stage lock, before staging: refuses when two stagers of this step failed for the same reason.
    func refuseRepeat(key: String) throws {
        guard rank.jobID != nil, let note = read(), note.count >= 2, note.step == rank.stepKey else { return }
        throw UdockerError(.engine, "staging \(key) failed \(note.count) times in this job step on \(rank.node) for the same reason, "
                           + "not tried again: \(note.message)")
    }

    /// Records `error` and returns what the rank reports: the error itself, or for a repeat, that it is one.
    func record(_ error: Error, key: String) -> Error {
        let reason = Self.reason(error)
        let previous = read()
        let repeated = previous.map { $0.reason == reason && $0.step == rank.stepKey } ?? false
        let note = Note(step: rank.stepKey, reason: reason, message: String(describing: error),
                        count: repeated ? previous!.count + 1 : 1, by: "rank \(rank.rank) (pid \(getpid()))")
        if let data = try? JSONEncoder().encode(note) { try? FileSystem.atomicWrite(data, to: path, mode: 0o600) }
        guard repeated, let previous else { return error }
        return UdockerError(.engine, "staging \(key) failed again for the same reason as \(previous.by) before it (\(reason)); "
                           + "this step's other ranks on \(rank.node) will not retry: \(error)")
    }

    func clear() { unlink(path) }

    func read() -> Note? {
        (try? FileSystem.read(path)).flatMap { try? JSONDecoder().decode(Note.self, from: $0) }
    }

    /// What makes two failures "the same": the system's reason when the message carries one (the file that
    /// failed differs from one try to the next), else the message less the temporary directory's name.
    static func reason(_ error: Error) -> String {
        let text = String(describing: error)
        for code in systemReasons where text.contains(String(cString: strerror(code))) { return String(cString: strerror(code)) }
        return text.replacingOccurrences(of: #"/\.staging-[^/]*"#, with: "/.staging-…", options: .regularExpression)
    }

    static let systemReasons = [ENOSPC, EDQUOT, EROFS, EIO, EACCES, EPERM, ENOMEM, EMFILE, ENFILE, EFBIG, ENAMETOOLONG]
}
