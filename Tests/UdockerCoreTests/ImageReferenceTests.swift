import Testing
@testable import UdockerCore

@Suite struct ImageReferenceTests {
    @Test(arguments: [
        ("busybox", "busybox", "latest"),
        ("busybox:1.36", "busybox", "1.36"),
        ("library/busybox:latest", "library/busybox", "latest"),
        ("127.0.0.1:5000/tools/img:v2", "127.0.0.1:5000/tools/img", "v2"),
        ("localhost:5000/img", "localhost:5000/img", "latest"),
        ("localhost/img", "localhost/img", "latest"),
        ("Quay.IO/org/img:1", "Quay.IO/org/img", "1"),
        ("[::1]:5000/img:v_1", "[::1]:5000/img", "v_1"),
        ("a__b/c-d.e_f---g:_tag", "a__b/c-d.e_f---g", "_tag"),
        ("quay.io/org/img@sha256:" + String(repeating: "a", count: 64), "quay.io/org/img", "sha256:" + String(repeating: "a", count: 64)),
    ])
    func parses(text: String, name: String, tag: String) throws {
        let reference = try ImageReference.parse(text)
        #expect(reference.name == name)
        #expect(reference.tag == tag)
    }

    /// What docker's reference grammar refuses: uppercase or a leading separator in a path component, doubled or
    /// mixed separators, empty components, bad tags and digests.
    @Test(arguments: ["", "../evil", "a//b", "img:", "img:.bad", "/abs", "img@sha256:short", "UPPER/Case", "a/../b",
                      ".locks", ".locks:1", "UPPER", "UPPER:Tag", "a..b", "a___b", "a_-b", "-a", "a-", "_a", "a/.b", "a/b/",
                      "bad-.host/img", "host:port/img", "img:-tag", "img:" + String(repeating: "t", count: 129),
                      String(repeating: "a", count: 256)])
    func rejects(text: String) {
        #expect(throws: UdockerError.self) { try ImageReference.parse(text) }
    }
}
