import Foundation
import Testing
import TestSupport
import CommandExpectations

// Shared by the end-to-end suites: every command goes through the built `udocker` binary, as the unprivileged
// test user, against a sandbox's own repository.

extension Sandbox {
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

    /// Names of the blobs under layers/ (hidden files excluded).
    func blobs() -> Set<String> { Set(Files.list(repositoryPath("layers")).filter { !$0.hasPrefix(".") }) }
}
