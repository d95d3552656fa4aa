import Foundation
import Testing
@testable import UdockerCore

@Suite struct ConfigTests {
    @Test func environmentOverridesFilesAndDefaults() throws {
        let dir = try FileSystem.makeTemporaryDirectory(in: "/tmp", prefix: "cfg-")
        defer { try? FileSystem.removeTree(dir) }
        try FileSystem.atomicWrite("[DEFAULT]\ndefault_execution_mode = P2\ntmpdir = %(topdir)s/tmp\n", to: dir + "/udocker.conf")
        let config = try Config.load(environment: ["HOME": "/nonexistent", "UDOCKER_DIR": dir, "UDOCKER_KEYSTORE": "/k"])
        #expect(config.topDir == dir)
        #expect(config["default_execution_mode"] == "P2")
        #expect(config.tmpDir == dir + "/tmp")
        let repository = Repository(config: config)
        #expect(repository.keystorePath == "/k")
        #expect(repository.layersDir == dir + "/layers")
    }

    @Test func explicitConfigFileMustExist() {
        #expect(throws: UdockerError.self) {
            try Config.load(environment: ["HOME": "/nonexistent"], configFile: "/nonexistent/u.conf")
        }
    }

    @Test func ignoresOtherSectionsAndComments() throws {
        var values: [String: String] = [:]
        let dir = try FileSystem.makeTemporaryDirectory(in: "/tmp", prefix: "ini-")
        defer { try? FileSystem.removeTree(dir) }
        try FileSystem.atomicWrite("# c\n[DEFAULT]\nA = 1\n; c\n[other]\nA = 2\nB: 3\n", to: dir + "/f")
        try IniFile.read(path: dir + "/f", into: &values)
        #expect(values == ["a": "1"])
    }
}
