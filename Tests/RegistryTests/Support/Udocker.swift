import Foundation
import TestSupport
@testable import UdockerCore

/// Our `udocker` in a TestSupport sandbox: its own HOME and repository, run as the unprivileged test user with a
/// clean environment (no proxies, no CA overrides unless a test adds them).
struct Udocker {
    let sandbox: Sandbox

    init(_ label: String = #function) throws { sandbox = try Sandbox(label) }

    var home: String { sandbox.home }
    var repository: Repository {
        Repository(config: Config(values: Config.defaults.merging(["topdir": sandbox.udockerDir]) { $1 }))
    }

    func run(_ arguments: [String], environment: [String: String] = [:], input: String? = nil) throws -> CommandResult {
        try sandbox.udocker(arguments, stdin: input.map { Data($0.utf8) }, env: environment, timeout: .seconds(120))
    }

    /// Runs a command that must succeed; returns its stdout.
    @discardableResult
    func check(_ arguments: [String], environment: [String: String] = [:], input: String? = nil) throws -> String {
        let result = try run(arguments, environment: environment, input: input)
        guard result.succeeded else { throw TestSupportError("udocker failed:\n\(result)") }
        return result.out
    }

    /// Starts a command without waiting (to kill it mid-way).
    func start(_ arguments: [String]) throws -> RunningCommand { try sandbox.startUdocker(arguments) }

    var images: [String] {
        ((try? check(["-q", "images"])) ?? "").split(separator: "\n").map { $0.split(separator: " ").first.map(String.init) ?? "" }
    }

    var layerFiles: [String] { Files.list(repository.layersDir) }
}
