import Testing
@testable import UdockerCore

@Suite struct ImageReferenceTests {
    @Test(arguments: [
        ("busybox", "busybox", "latest"),
        ("busybox:1.36", "busybox", "1.36"),
        ("library/busybox:latest", "library/busybox", "latest"),
        ("127.0.0.1:5000/tools/img:v2", "127.0.0.1:5000/tools/img", "v2"),
        ("localhost:5000/img", "localhost:5000/img", "latest"),
        ("quay.io/org/img@sha256:" + String(repeating: "a", count: 64), "quay.io/org/img", "sha256:" + String(repeating: "a", count: 64)),
    ])
    func parses(text: String, name: String, tag: String) throws {
        let reference = try ImageReference.parse(text)
        #expect(reference.name == name)
        #expect(reference.tag == tag)
    }

    @Test(arguments: ["", "../evil", "a//b", "img:", "img:.bad", "/abs", "img@sha256:short", "UPPER/Case", "a/../b"])
    func rejects(text: String) {
        #expect(throws: UdockerError.self) { try ImageReference.parse(text) }
    }
}
