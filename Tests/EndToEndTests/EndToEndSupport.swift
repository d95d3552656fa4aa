import Foundation
import Testing
import TestSupport

// Shared by the end-to-end suites: every command goes through the built `udocker` binary, as the unprivileged
// test user, against a sandbox's own repository.

/// Fails the test (with the command, its status and both streams) unless `result` succeeded.
func expectSuccess(_ result: CommandResult, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(result.succeeded, "\(result)", sourceLocation: sourceLocation)
}

/// Stops the test unless `result` succeeded: later steps depend on it.
func requireSuccess(_ result: CommandResult, sourceLocation: SourceLocation = #_sourceLocation) throws {
    try #require(result.succeeded, "\(result)", sourceLocation: sourceLocation)
}

/// A failure as udocker reports one: non-zero status and a single `Error: …` line on stderr.
func expectOneLineError(_ result: CommandResult, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(result.status != 0 && !result.timedOut, "expected a failure\n\(result)", sourceLocation: sourceLocation)
    #expect(result.errLines.count == 1 && result.errLines.first?.hasPrefix("Error: ") == true,
            "expected one `Error: …` line on stderr\n\(result)", sourceLocation: sourceLocation)
}

extension Sandbox {
    /// Loads `image` from its docker-save tarball and checks it is listed.
    func load(_ image: FixtureImage) throws {
        try requireSuccess(udocker("load", "-i", image.dockerArchive))
        try #require(try listedImages().contains(image.reference), "\(image.reference) not listed after load")
    }

    /// Creates a container named `name` from `image` (loaded first when missing); returns its id.
    @discardableResult
    func createContainer(_ name: String, from image: FixtureImage) throws -> String {
        if !(try listedImages().contains(image.reference)) { try load(image) }
        let result = try udocker("create", "--name=\(name)", image.reference)
        try requireSuccess(result)
        let id = result.out.trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(id.split(separator: "-").count == 5, "create printed no container id\n\(result)")
        return id
    }

    /// Runs `command` in `container` without the banner.
    @discardableResult
    func runIn(_ container: String, _ command: [String], options: [String] = [], stdin: Data? = nil) throws -> CommandResult {
        try udocker(["run", "--nobanner"] + options + [container] + command, stdin: stdin, timeout: .seconds(60))
    }

    /// `run … sh -c SCRIPT`.
    @discardableResult
    func shell(_ container: String, _ script: String, options: [String] = []) throws -> CommandResult {
        try runIn(container, ["/bin/sh", "-c", script], options: options)
    }

    /// Container ids listed by `ps`.
    func listedContainers() throws -> [String] {
        let result = try udocker("ps")
        try requireSuccess(result)
        return result.lines.dropFirst().compactMap { $0.split(separator: " ").first.map(String.init) }
    }

    /// Image references listed by `images`.
    func listedImages() throws -> [String] {
        let result = try udocker("images")
        try requireSuccess(result)
        return result.lines.filter { $0 != "REPOSITORY" }.compactMap { $0.split(separator: " ").first.map(String.init) }
    }

    /// Names of the blobs under layers/ (hidden files excluded).
    func blobs() -> Set<String> { Set(Files.list(repositoryPath("layers")).filter { !$0.hasPrefix(".") }) }
}
