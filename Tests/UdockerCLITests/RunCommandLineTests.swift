import ArgumentParser
import Foundation
import Testing
@testable import UdockerCLI

/// RunCommandLine reads `udocker run` lines without ArgumentParser; ArgumentParser stays the reference. These
/// tests fail when an option is added to RunCommand (or its groups) and not to the reader, and when the reader
/// gives any value of the request, defaults included, other than ArgumentParser's.
@Suite struct RunCommandLineTests {
    @Test func knowsEveryOptionRunDeclaresAndWhetherItTakesAValue() throws {
        #expect(RunCommandLine.names == (try declaredOptions(RunCommand.self)))
    }

    static let lines: [[String]] = [
        ["C"],
        ["--nobanner", "C", "/bin/true"],
        ["C", "--nobanner", "-v", "/x"],
        ["C", "--", "ls", "-l"],
        ["C", "sh", "-c", "echo --x"],
        ["--location=/tmp/root", "ls", "-l"],
        ["--location", "/tmp/root", "ls"],
        ["--name=a", "--name", "b", "--rm", "debian:12"],
        ["-v", "/a:/b", "--volume=/c", "-v", "/d:/e:ro", "--novol=/f", "--novol", "/g", "C"],
        ["-e", "X=1", "--env=Y", "--env", "Z=a b", "--env-file", "f1", "--env-file=f2", "C", "env"],
        ["-w", "/tmp", "--workdir=/x", "-u", "1000:1000", "--user=u", "--entrypoint", "", "C"],
        ["--entrypoint=/bin/sh", "C"],
        ["--rm", "--dri", "--nvidia", "--nosysdirs", "--nometa", "--hostenv", "--hostauth", "--containerauth",
         "--bindhome", "-P", "C"],
        ["--publish-all", "--hostname", "h", "--kernel=5.15.0", "--cpuset-cpus=0-1", "--device=/dev/null",
         "--device", "/dev/zero:/dev/z", "--platform=linux/amd64", "--execmode=F3", "--mpi=host", "C"],
        ["--pull=never", "--registry=http://127.0.0.1:5000", "--index", "https://i", "--httpproxy=socks5h://p:1080",
         "-p", "8080:80", "--publish=1:2", "img:tag", "cmd"],
        ["--pull", "always", "C"],
    ]

    @Test(arguments: lines) func readsALineAsArgumentParserDoes(_ line: [String]) throws {
        let words = EmptyOptionValues.expand(["run"] + line)
        let direct = try #require(RunCommandLine.parse(words), "the reader refused \(words)")
        let reference = try #require(try RunCommand.parseAsRoot(Array(words.dropFirst())) as? RunCommand)
        #expect(direct == reference.request)
    }

    /// Lines the reader leaves to ArgumentParser, for its help and its messages.
    @Test(arguments: [
        ["--help"], ["-h", "C"], ["--bogus", "C"], ["-x", "C"], ["--rm", "--rm", "C"], ["--rm=yes", "C"],
        ["--pull=sometimes", "C"], ["--name"], ["--name", "--rm", "C"], ["-v", "-x", "C"], ["--", "C"],
        ["--location", "/tmp/root", "--", "ls"], [],
    ])
    func leavesEverythingElseToArgumentParser(_ line: [String]) {
        #expect(RunCommandLine.parse(["run"] + line) == nil)
        #expect(RunCommandLine.parse(["create"] + line) == nil)
    }
}
