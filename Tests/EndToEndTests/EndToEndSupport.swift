import Foundation
import Testing
import TestSupport
import CommandExpectations
import UdockerCore

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

extension Sandbox {
    /// Starts one `udocker` per argument list, all held behind a barrier file until every one of them is running,
    /// then releases them at once and waits for all: what many ranks of a job starting on one node do.
    func udockerAtOnce(_ runs: [[String]]) throws -> [CommandResult] {
        let ready = try makeDirectory("ready-\(UUID().uuidString)")
        let barrier = ready + "/go"
        // $0 is this process's ready file; "$@" the udocker command line.
        let script = "touch \"$0\"; until [ -e '\(barrier)' ]; do sleep 0.005; done; exec \"$@\""
        let started = try runs.enumerated().map { index, arguments in
            try Command.start(["/bin/sh", "-c", script, ready + "/\(index)", staging.udocker] + arguments,
                              env: environment, as: user, directory: home, timeout: .seconds(300))
        }
        let allWaiting = Poll.until(timeout: .seconds(60)) { Files.list(ready).count == runs.count }
        try Files.write("", to: barrier)
        let results = started.map { $0.wait() }
        try #require(allWaiting, "not every process reached the barrier\n\(results)")
        return results
    }

    /// What a consistent repository looks like after any mix of commands, finished or killed: every listed image
    /// verifies, `ps` lists every container directory, and nothing is left that no command will ever use — no
    /// blob that no tag links, no hidden temporary in containers/, layers/ or repos/.
    func expectConsistentRepository(sourceLocation: SourceLocation = #_sourceLocation) throws {
        var linked = Set<String>()
        for reference in try listedImages() {
            let verify = try udocker("verify", reference)
            #expect(verify.succeeded, "\(verify)", sourceLocation: sourceLocation)
        }
        let containers = repositoryPath("containers")
        let directories = Files.list(containers).filter { !$0.hasPrefix(".") && !Files.isSymlink(containers + "/" + $0) }
        #expect(Set(try listedContainers()) == Set(directories), sourceLocation: sourceLocation)
        var hidden: [String] = []
        func scanRepos(_ dir: String) {
            for entry in Files.list(dir) {
                let path = dir + "/" + entry
                if entry.hasPrefix(".") { hidden.append(path); continue }
                if Files.exists(path + "/TAG") {
                    linked.formUnion(Files.list(path).filter { Files.isSymlink(path + "/" + $0) })
                } else if Files.isDirectory(path) {
                    scanRepos(path)
                }
            }
        }
        scanRepos(repositoryPath("repos"))
        for dir in ["containers", "layers"] {
            hidden += Files.list(repositoryPath(dir)).filter { $0.hasPrefix(".") }.map { repositoryPath(dir) + "/" + $0 }
        }
        #expect(hidden.isEmpty, "temporaries left: \(hidden)", sourceLocation: sourceLocation)
        let unreferenced = blobs().subtracting(linked)
        #expect(unreferenced.isEmpty, "blobs no image links: \(unreferenced.sorted())", sourceLocation: sourceLocation)
    }
}

/// docker-save archives written byte by byte, for what no tool writes: many variants of one name, damaged
/// configurations. Each layer is a tar holding one file.
enum CraftedArchive {
    /// A one-file layer tar whose content tells variants apart.
    static func layer(_ content: String, file: String = "variant") -> Data {
        var tar = TarBuilder()
        tar.file(file, content + "\n")
        return tar.archive
    }

    /// A docker-save archive of one image with `layers`, named `repoTags`. `diffIDs` replaces the correct list in
    /// the configuration (nil: the right ones; an empty list: the key is left out).
    static func dockerSave(repoTags: [String], layers: [Data], diffIDs: [String]? = nil) throws -> Data {
        let correct = try layers.map { try Digest.sha256($0) }
        var config: [String: Any] = ["architecture": "amd64", "os": "linux", "config": ["Cmd": ["/bin/sh"]]]
        let listed = diffIDs ?? correct
        if !listed.isEmpty { config["rootfs"] = ["type": "layers", "diff_ids": listed] }
        let configData = try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys])
        let layerNames = correct.map { String($0.dropFirst(7).prefix(32)) + "/layer.tar" }
        let manifest: [[String: Any]] = [["Config": "config.json", "RepoTags": repoTags, "Layers": layerNames]]
        var tar = TarBuilder()
        tar.file("manifest.json", try JSONSerialization.data(withJSONObject: manifest, options: [.withoutEscapingSlashes]))
        tar.file("config.json", configData)
        for (name, layer) in zip(layerNames, layers) {
            tar.directory(Paths.dirname(name))
            tar.file(name, layer)
        }
        return tar.archive
    }
}
