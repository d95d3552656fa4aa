import Foundation
@testable import UdockerCore

/// The built `udocker` binary, run with its own repository and a clean environment (no proxies, no CA overrides
/// unless a test adds them). As root it gets --allow-root.
struct Udocker {
    let home: String
    var repository: Repository {
        Repository(config: Config(values: Config.defaults.merging(["topdir": home + "/udocker"]) { $1 }))
    }

    static let binary = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".build/debug/udocker").path

    init(fixtures: Fixtures) throws {
        home = try FileSystem.makeTemporaryDirectory(in: fixtures.dir, prefix: "home-")
    }

    func run(_ arguments: [String], environment extra: [String: String] = [:], input: String? = nil,
             timeout: Double = 60) throws -> CommandResult {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw TestFailure("\(Self.binary) is missing: run swift build first")
        }
        var environment = ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": home, "UDOCKER_DIR": home + "/udocker", "TMPDIR": home]
        environment.merge(extra) { $1 }
        let root = geteuid() == 0 ? ["--allow-root"] : []
        return try Shell.run([Self.binary] + root + arguments, environment: environment, input: input, timeout: timeout)
    }

    /// Runs a command that must succeed; returns its stdout.
    @discardableResult
    func check(_ arguments: [String], environment: [String: String] = [:], input: String? = nil) throws -> String {
        let result = try run(arguments, environment: environment, input: input)
        guard result.status == 0 else { throw TestFailure("udocker \(arguments.joined(separator: " ")): \(result)") }
        return result.stdout
    }

    var images: [String] {
        ((try? check(["-q", "images"])) ?? "").split(separator: "\n").map { $0.split(separator: " ").first.map(String.init) ?? "" }
    }

    var layerFiles: [String] { (try? FileSystem.list(repository.layersDir)) ?? [] }
}
