import Foundation
import Testing
@testable import UdockerCore

@Suite struct KeyStoreTests {
    let dir: String
    let keystore: KeyStore

    init() throws {
        dir = try FileSystem.makeTemporaryDirectory(in: "/tmp", prefix: "udocker-keystore-test-")
        keystore = KeyStore(path: dir + "/keystore")
    }

    @Test func storesMode0600InUdockerFormat() throws {
        try keystore.store(username: "ann", password: "pw:1", for: "https://127.0.0.1:5000")
        var st = stat()
        #expect(stat(keystore.path, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o600)
        let json = try JSONSerialization.jsonObject(with: FileSystem.read(keystore.path)) as? [String: [String: String]]
        #expect(json?["https://127.0.0.1:5000"]?["auth"] == Data("ann:pw:1".utf8).base64EncodedString())
        #expect(try keystore.credential(for: "https://127.0.0.1:5000") == Data("ann:pw:1".utf8).base64EncodedString())
        // Found without the scheme too, as udocker 1.3 looks keys up.
        #expect(try keystore.credential(for: "http://127.0.0.1:5000") != nil)
        #expect(try keystore.credential(for: "https://127.0.0.1:5001") == nil)
        try FileSystem.removeTree(dir)
    }

    @Test func readsAKeystoreWrittenByUdocker13() throws {
        let python = #"{"https://registry-1.docker.io": {"auth": "dTpw", "email": ""}}"#
        try FileSystem.atomicWrite(python, to: keystore.path, mode: 0o600)
        #expect(try keystore.credential(for: "https://registry-1.docker.io") == "dTpw")
        try FileSystem.removeTree(dir)
    }

    @Test func refusesAFileOthersCanRead() throws {
        try keystore.store(username: "ann", password: "pw", for: "https://r.example.org")
        chmod(keystore.path, 0o644)
        #expect(throws: UdockerError.self) { try keystore.credential(for: "https://r.example.org") }
        #expect(throws: UdockerError.self) { try keystore.store(username: "b", password: "c", for: "https://r.example.org") }
        try FileSystem.removeTree(dir)
    }

    @Test func removesOneOrAll() throws {
        try keystore.store(username: "a", password: "1", for: "https://one.example.org")
        try keystore.store(username: "b", password: "2", for: "https://two.example.org")
        #expect(try keystore.remove("https://one.example.org"))
        #expect(try !keystore.remove("https://one.example.org"))
        #expect(try keystore.credential(for: "https://two.example.org") != nil)
        try keystore.removeAll()
        #expect(!FileSystem.exists(keystore.path))
        try FileSystem.removeTree(dir)
    }
}
