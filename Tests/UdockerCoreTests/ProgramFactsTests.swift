import Foundation
import Testing
@testable import UdockerCore

/// What `run` remembers about host programs instead of running them on every start (proot's --help): asked once
/// per binary, asked again when the binary changes, never misled by a damaged file, right when many start at once.
@Suite struct ProgramFactsTests {
    final class Directory {
        let path: String
        init() throws { path = try FileSystem.makeTemporaryDirectory(in: "/tmp", prefix: "udfacts-") }
        deinit { try? FileSystem.removeTree(path) }
    }

    /// A fake program: a file whose content stands for its version.
    func program(_ dir: Directory, _ content: String) throws -> String {
        try FileSystem.atomicWrite(content, to: dir.path + "/prog", mode: 0o755)
        return dir.path + "/prog"
    }

    @Test func aProgramIsAskedOnceAndAgainWhenItIsReplaced() throws {
        let dir = try Directory()
        let facts = ProgramFacts(file: dir.path + "/facts")
        var asked = 0
        func ask(_ path: String) -> String? {
            facts.fact(about: path) { asked += 1; return (try? FileSystem.readString(path)).map { "answer of " + $0 } }
        }
        let prog = try program(dir, "v1")
        #expect(ask(prog) == "answer of v1" && asked == 1)
        #expect(ask(prog) == "answer of v1" && asked == 1)
        // Replaced by another file (new inode), as a package upgrade or `udocker install` does.
        _ = try program(dir, "v2")
        #expect(ask(prog) == "answer of v2" && asked == 2)
        #expect(ask(prog) == "answer of v2" && asked == 2)
        // Rewritten in place with the same size: the change time moves on.
        let fd = open(prog, O_WRONLY)
        try #require(fd >= 0)
        #expect(pwrite(fd, "v3", 2, 0) == 2)
        // A distinct modification time: two writes within one clock tick of the kernel's coarse clock may share one.
        var times = [timespec(tv_sec: 1_000_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000_000, tv_nsec: 0)]
        #expect(futimens(fd, &times) == 0)
        close(fd)
        #expect(ask(prog) == "answer of v3" && asked == 3)
        // Another program keeps its own answer beside it.
        let other = dir.path + "/other"
        try FileSystem.atomicWrite("o1", to: other, mode: 0o755)
        #expect(ask(other) == "answer of o1" && ask(prog) == "answer of v3" && asked == 4)
    }

    @Test func aDamagedOrUnwritableFileMeansAskingAgain() throws {
        let dir = try Directory()
        let prog = try program(dir, "v1")
        let facts = ProgramFacts(file: dir.path + "/facts")
        var asked = 0
        let learn = { () -> String? in asked += 1; return "fine" }
        for damage in ["\u{0}\u{1}\u{2}garbage", "only\ta\tfew\tfields\n", String(repeating: "\t", count: 9) + "\n"] {
            try FileSystem.atomicWrite(damage, to: facts.file)
            #expect(facts.fact(about: prog, learn: learn) == "fine")
        }
        #expect(asked == 3)
        // The last answer was written over the damage and is used.
        #expect(facts.fact(about: prog, learn: learn) == "fine" && asked == 3)

        // A forged line for this very program (a stale entry of a binary at the same path) does not match.
        try FileSystem.atomicWrite(prog + "\t1\t2\t3\t4\t5\tforged\n", to: facts.file)
        #expect(facts.fact(about: prog, learn: learn) == "fine" && asked == 4)

        let nowhere = ProgramFacts(file: dir.path + "/missing-dir/facts")
        #expect(nowhere.fact(about: prog, learn: learn) == "fine" && nowhere.fact(about: prog, learn: learn) == "fine")
        #expect(asked == 6)
        // No answer (the program could not be run) is not remembered, nor is one for a program that is not there.
        #expect(facts.fact(about: dir.path + "/absent", learn: learn) == "fine")
        try FileSystem.removeFile(facts.file)
        #expect(facts.fact(about: prog) { nil } == nil)
        #expect(!FileSystem.exists(facts.file))
    }

    @Test func sixtyFourStartingAtOnceAllGetTheAnswerAndLeaveAWholeFile() throws {
        let dir = try Directory()
        let facts = ProgramFacts(file: dir.path + "/facts")
        let programs = try (0..<4).map { index -> String in
            let path = dir.path + "/prog\(index)"
            try FileSystem.atomicWrite("p\(index)", to: path, mode: 0o755)
            return path
        }
        final class Answers: @unchecked Sendable {
            let lock = NSLock()
            var values = [String?](repeating: nil, count: 64)
        }
        let answers = Answers()
        DispatchQueue.concurrentPerform(iterations: 64) { rank in
            let path = programs[rank % 4]
            let answer = facts.fact(about: path) { "answer of " + Paths.basename(path) }
            answers.lock.withLock { answers.values[rank] = answer }
        }
        for (rank, answer) in answers.values.enumerated() {
            #expect(answer == "answer of prog\(rank % 4)")
        }
        let entries = facts.entries()
        #expect(!entries.isEmpty && entries.allSatisfy { $0.value.hasPrefix("answer of prog") }, "\(entries)")
        #expect(try FileSystem.list(dir.path).filter { $0.hasPrefix(".") }.isEmpty, "temporaries left behind")
    }

    @Test func prootFeaturesAreTheSameRememberedAsAsked() throws {
        let proot = "/usr/bin/proot"
        guard FileManager.default.isExecutableFile(atPath: proot) else {
            print("skipped: \(proot) is not installed")
            return
        }
        let dir = try Directory()
        let config = try Config.load(environment: ["HOME": "/nonexistent", "UDOCKER_DIR": dir.path])
        let tools = HostTools(locator: ToolLocator(repositoryBin: dir.path + "/bin"), config: config)
        let help = try Subprocess.run([proot, "--help"], environment: []).output
        let asked = HostTools.ProotFeatures(help: help)
        #expect(asked.version?.isEmpty == false, "\(help.prefix(80))")

        #expect(tools.prootFeatures(proot) == asked)
        #expect(FileSystem.exists(tools.programFacts.file))
        #expect(tools.prootFeatures(proot) == asked)
        for features in [asked, HostTools.ProotFeatures(help: ""), HostTools.ProotFeatures(help: "proot 5.4.0: x\n --port --kill-on-exit")] {
            #expect(HostTools.ProotFeatures(line: features.line) == features, "\(features.line)")
        }
    }
}
