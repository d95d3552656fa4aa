import Foundation
import Testing
@testable import UdockerCore

/// The dry run's probe extraction (`ProbeSelection`): the files a launch decision reads keep their bytes, every
/// other regular file is a hole of its size and mode (nothing written), and the counts say what staging would write.
@Suite struct ProbeExtractionTests {
    @Test func selectedFilesKeepTheirBytesTheRestAreHolesOfTheirSizeAndMode() throws {
        let scratch = try ArchiveScratch()
        let big = String(repeating: "x", count: 100_000)
        let layer = try scratch.layer("layer.tar", [
            .directory("etc"), .file("etc/passwd", "root:x:0:0::/root:/bin/sh\n"),
            .directory("usr"), .directory("usr/lib"), .file("usr/lib/libc.so.6", big), .file("usr/lib/libbig.so.1", big),
            .directory("usr/share"), .file("usr/share/data.bin", big, mode: 0o640), .file("usr/share/small.txt", "small"),
            .directory("opt"), .file("opt/program", big, mode: 0o755),
        ])
        let probe = ProbeSelection()
        try LayerExtractor.extract(layers: [layer], into: scratch.root, probe: probe)

        for kept in ["etc/passwd", "usr/lib/libc.so.6", "usr/share/small.txt", "opt/program"] {
            let expected = kept == "etc/passwd" ? "root:x:0:0::/root:/bin/sh\n" : kept.hasSuffix(".txt") ? "small" : big
            #expect(scratch.text(kept) == expected, "\(kept) lost its bytes")
        }
        for hole in ["usr/lib/libbig.so.1", "usr/share/data.bin"] {
            var st = stat()
            #expect(stat(scratch.root + "/" + hole, &st) == 0)
            #expect(st.st_size == 100_000 && st.st_blocks == 0, "\(hole): size \(st.st_size), \(st.st_blocks) blocks")
        }
        #expect(scratch.mode("usr/share/data.bin") & 0o777 == 0o640)
        #expect(probe.files == 6 && probe.keptFiles == 4, "\(probe.files) files, \(probe.keptFiles) kept")
        #expect(probe.bytes == 400_000 + 26 + 5 && probe.keptBytes == 200_000 + 26 + 5, "\(probe.bytes) \(probe.keptBytes)")
    }
}
