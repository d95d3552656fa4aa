import Foundation
import Testing
import TestSupport
import CommandExpectations

// Expectations about commands, shared by the suites that drive the built binaries.

/// Fails the test (with the command, its status and both streams) unless `result` succeeded.
public func expectSuccess(_ result: CommandResult, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(result.succeeded, "\(result)", sourceLocation: sourceLocation)
}

/// Stops the test unless `result` succeeded: later steps depend on it.
public func requireSuccess(_ result: CommandResult, sourceLocation: SourceLocation = #_sourceLocation) throws {
    try #require(result.succeeded, "\(result)", sourceLocation: sourceLocation)
}

/// A failure as udocker reports one: non-zero status and a single `Error: …` line on stderr.
public func expectOneLineError(_ result: CommandResult, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(result.status != 0 && !result.timedOut, "expected a failure\n\(result)", sourceLocation: sourceLocation)
    #expect(result.errLines.count == 1 && result.errLines.first?.hasPrefix("Error: ") == true,
            "expected one `Error: …` line on stderr\n\(result)", sourceLocation: sourceLocation)
}

extension Sandbox {
    /// Loads `image` from its docker-save tarball and checks it is listed.
    public func load(_ image: FixtureImage) throws {
        try requireSuccess(udocker("load", "-i", image.dockerArchive))
        try #require(try listedImages().contains(image.reference), "\(image.reference) not listed after load")
    }


    /// Image references listed by `images`.
    public func listedImages() throws -> [String] {
        let result = try udocker("images")
        try requireSuccess(result)
        return result.lines.filter { $0 != "REPOSITORY" }.compactMap { $0.split(separator: " ").first.map(String.init) }
    }
}
