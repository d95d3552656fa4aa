import Foundation
import TestSupport

/// Runs a helper command (openssl, umoci, skopeo, the helper script) that must succeed.
@discardableResult
func mustRun(_ argv: [String], stdin: String? = nil) throws -> CommandResult {
    let result = try Command.run(argv, stdin: stdin.map { Data($0.utf8) })
    guard result.succeeded else { throw TestSupportError("helper command failed:\n\(result)") }
    return result
}

func executablesInPath(_ names: [String]) -> Bool {
    let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
    return names.allSatisfy { name in path.contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") } }
}
