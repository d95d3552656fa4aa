import ArgumentParser
import Foundation
import Testing
@testable import UdockerCLI

/// LaunchCommandLine reads a rank's `udocker-launch` line without ArgumentParser; ArgumentParser (through
/// LaunchMain.parse, with its default subcommand and options-first handling) stays the reference.
@Suite struct LaunchCommandLineTests {
    @Test func knowsEveryOptionARankTakesAndWhetherItTakesAValue() throws {
        #expect(LaunchCommandLine.names == (try declaredOptions(LaunchRunCommand.self)))
    }

    static let lines: [[String]] = [
        ["img"],
        ["img", "--", "/opt/mpi/hello", "-x"],
        ["run", "img", "cmd"],
        ["run", "clean", "cmd"],
        ["--scratch=/tmp/s", "--mpi=host", "--execmode", "U1", "fixtures/debian-mpi:12", "--", "/opt/mpi/hello"],
        ["--repo", "/r", "--config=/c", "-D", "-q", "--allow-root", "--stage=never", "--stage-timeout", "30", "img"],
        ["--stage-timeout=2.5", "--join=no", "--bind", "core", "--gpu", "--gpus-per-rank=2", "--cleanup", "--dry-run", "c"],
        ["-v", "/a:/b", "--env=X=1", "-e", "Y", "-w", "/tmp", "--user=u", "--hostenv", "--nosysdirs", "img", "env"],
        ["--entrypoint", "", "--novol=/x", "--env-file", "f", "--nometa", "--hostauth", "--containerauth", "--bindhome", "img"],
        ["img", "--mpi=host"],
    ]

    @Test(arguments: lines) func readsALineAsArgumentParserDoes(_ line: [String]) throws {
        let direct = try #require(LaunchCommandLine.parse(line), "the reader refused \(line)")
        let reference = try #require(try LaunchMain.parse(line) as? LaunchRunCommand)
        #expect(direct == reference.request)
    }

    /// Lines the reader leaves to ArgumentParser and LaunchMain.parse.
    @Test(arguments: [
        [], ["--help"], ["--version"], ["-h", "img"], ["--bogus", "img"], ["--gpu", "--gpu", "img"], ["--gpu=1", "img"],
        ["--gpus-per-rank=two", "img"], ["--stage-timeout=soon", "img"], ["--scratch"], ["--scratch", "-q", "img"],
        ["--", "img"], ["--scratch=/tmp/s", "clean"], ["clean"], ["stage", "img"], ["info"], ["--dry-run"],
    ])
    func leavesEverythingElseToArgumentParser(_ line: [String]) {
        #expect(LaunchCommandLine.parse(line) == nil)
    }
}

/// The option names a command declares to ArgumentParser (its `--experimental-dump-help` description), each with
/// whether it takes a value; ArgumentParser's own -h/--help left out.
func declaredOptions(_ command: ParsableCommand.Type) throws -> [String: Bool] {
    let json = try #require(try JSONSerialization.jsonObject(with: Data(command._dumpHelp().utf8)) as? [String: Any])
    let arguments = try #require((json["command"] as? [String: Any])?["arguments"] as? [[String: Any]])
    var declared: [String: Bool] = [:]
    for argument in arguments {
        guard let kind = argument["kind"] as? String, kind == "option" || kind == "flag" else { continue }
        for name in argument["names"] as? [[String: Any]] ?? [] {
            let text = try #require(name["name"] as? String)
            declared[(name["kind"] as? String == "short" ? "-" : "--") + text] = kind == "option"
        }
    }
    return declared.filter { $0.key != "-h" && $0.key != "--help" }
}
