import Testing
@testable import UdockerCore

@Suite struct PathsTests {
    @Test(arguments: [
        ("/r/layers/sha256:1", "/r/repos/busybox/latest", "../../../layers/sha256:1"),
        ("/r/containers/abc", "/r/containers", "abc"),
        ("/a/b", "/a/b", "."),
    ])
    func relative(target: String, from: String, expected: String) {
        #expect(Paths.relative(target, from: from) == expected)
    }

    @Test func normalisesAbsolutePaths() {
        #expect(Paths.absolute("/a/./b/../c/") == "/a/c")
        #expect(Paths.dirname("/a/b/") == "/a")
        #expect(Paths.basename("/a/b/") == "b")
    }
}
