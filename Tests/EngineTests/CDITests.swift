import Foundation
import Testing
import TestSupport
import UdockerCore

/// CDI devices (`--device=example.com/gpu=N`) over a fake vendor's spec (TestSupport's FakeCDIVendor): in U1, R1
/// and F3 a program in the container sees exactly the edits of the devices it was given (the device node, the
/// library loading by its soname through the container's loader, the toolkit hook's link, the env) and nothing
/// of the other device; bad specs are one line naming the file.
extension EngineSuites {
@Suite struct CDITests {
    final class Vendors: Sendable {
        /// Nodes at new container paths, and the unknown hook.
        let renamed: FakeCDIVendor
        /// Nodes at their host paths (what F modes can do).
        let hostPaths: FakeCDIVendor
        static let shared = OnceValue<Vendors>()

        init(world: EngineWorld) throws {
            renamed = try FakeCDIVendor(at: try world.sandbox.makeDirectory("cdi-renamed"))
            hostPaths = try FakeCDIVendor(at: try world.sandbox.makeDirectory("cdi-hostpaths"), nodesAtHostPaths: true)
            try shell(["chown", "-R", "\(world.user.uid):\(world.user.gid)", renamed.directory, hostPaths.directory])
        }
    }

    static func vendors() throws -> Vendors { try Vendors.shared.get { try Vendors(world: EngineWorld.get()) } }

    func run(_ mode: ExecMode, _ vendor: FakeCDIVendor, devices: [String], _ script: String) throws -> CommandResult {
        let world = try EngineWorld.get()
        let name = try world.container(mode)
        return try world.sandbox.udocker(["run", "--nobanner", "--cdi-spec-dir=" + vendor.specDirectory]
                                         + devices.map { "--device=" + $0 } + ["-v", vendor.probeDirectory + ":/cdiprobe", name,
                                         "/bin/sh", "-c", script])
    }

    static let probe = "/cdiprobe/exgpu-probe"

    @Test("U1 and R1: each device's node, read-only library, link and env, and nothing of the other", arguments: [ExecMode.U1, .R1])
    func eachDeviceGetsExactlyItsEdits(mode: ExecMode) throws {
        let vendor = try Self.vendors().renamed
        for (device, indices) in [("0", [0]), ("1", [1]), ("all", [0, 1])] {
            try? FileManager.default.removeItem(atPath: vendor.stateFile)
            let result = try run(mode, vendor, devices: ["example.com/gpu=" + device], FakeCDIVendor.report(probe: Self.probe))
            #expect(result.status == 0, "\(result)")
            #expect(result.lines == FakeCDIVendor.expectedReport(indices), "\(mode) device \(device): \(result)")
            if mode == .R1 {
                // runc ran the unknown createContainer hook with the container's state on its stdin.
                let state = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: vendor.stateFile))) as? [String: Any]
                #expect(state?["status"] as? String == "creating" && (state?["id"] as? String)?.hasPrefix("udocker-") == true, "\(String(describing: state))")
            } else {
                #expect(result.err.contains("Warning: CDI hook \(vendor.hookScript) \(vendor.stateFile) (createContainer, example.com/gpu in "
                                            + "\(vendor.specFile)) not run: mode U1 has no OCI runtime to run it"), "\(result)")
                #expect(!FileManager.default.fileExists(atPath: vendor.stateFile))
            }
        }
        // The device nodes are the host's (/dev/zero reads zeros), the library is mounted read-only.
        let nodes = try run(mode, vendor, devices: ["example.com/gpu=all"],
                            "head -c 3 /dev/exgpu1 | od -An -tx1; echo x > /dev/exgpu0 && echo written; "
                            + "if (echo x >> /opt/exgpu/0/libexgpu0.so.1) 2>/dev/null; then echo writable; else echo read-only; fi")
        #expect(nodes.status == 0 && nodes.lines.map { $0.trimmingCharacters(in: .whitespaces) } == ["00 00 00", "written", "read-only"], "\(nodes)")
        // A run without the devices has none of their edits (the hook's links are taken back).
        let none = try run(mode, vendor, devices: [], FakeCDIVendor.report(probe: Self.probe))
        #expect(none.status == 0 && none.lines == Array(FakeCDIVendor.expectedReport([]).dropLast(2)), "\(none)")
    }

    @Test("F3: env, linked library, toolkit hooks at host-path nodes; a node at another path is refused in one line")
    func fakechrootAppliesWhatItCan() throws {
        let vendors = try Self.vendors()
        for (device, indices) in [("0", [0]), ("1", [1]), ("all", [0, 1])] {
            let result = try run(.F3, vendors.hostPaths, devices: ["example.com/gpu=" + device],
                                 FakeCDIVendor.report(probe: Self.probe, nodes: false) + "; test -c \(FakeCDIVendor.hostNodes[indices[0]]) && echo host node")
            #expect(result.status == 0, "\(result)")
            #expect(result.lines == FakeCDIVendor.expectedReport(indices, nodes: false) + ["host node"], "F3 device \(device): \(result)")
            #expect(result.err.contains("Warning: CDI hook \(vendors.hostPaths.hookScript)") && result.err.contains("not run: mode F3"), "\(result)")
        }
        let refused = try run(.F3, vendors.renamed, devices: ["example.com/gpu=0"], "true")
        #expect(refused.status == 1 && refused.errLines == [
            "Error: mode F3 cannot give example.com/gpu=0's device /dev/null at /dev/exgpu0 (fakechroot shows a device only at its host path; "
            + "\(vendors.renamed.specFile)): use U1, R1 or P1"], "\(refused)")
    }

    @Test("bad specs and devices: one line naming the file, nothing run")
    func badSpecsAreOneLineNamingTheFile() throws {
        let world = try EngineWorld.get()
        let vendor = try Self.vendors().renamed
        let good = vendor.spec(nodesAtHostPaths: false, unknownHook: false)
        let cases: [(String, String, (String) -> String)] = [
            ("version.yaml", good.replacingOccurrences(of: "cdiVersion: 0.6.0", with: "cdiVersion: 0.9.0"),
             { "CDI spec \($0) has unknown cdiVersion 0.9.0 (this udocker reads 0.3.0 to 0.8.0)" }),
            ("malformed.yaml", good.replacingOccurrences(of: "devices:\n", with: "devices:\n  - name: [\n"),
             { "CDI spec \($0) is not a valid CDI spec" }),
            ("missing.yaml", good.replacingOccurrences(of: vendor.library(0), with: vendor.directory + "/lib/gone.so"),
             { "CDI spec \($0) example.com/gpu=0: mount of \(vendor.directory)/lib/gone.so, which does not exist on this host" }),
            ("b-twice.json", "{\"cdiVersion\": \"0.5.0\", \"kind\": \"example.com/gpu\", \"devices\": [{\"name\": \"1\", \"containerEdits\": {\"env\": [\"A=1\"]}}]}",
             { "CDI spec \($0) defines example.com/gpu=1, which " }),
        ]
        for (file, text, expected) in cases {
            let directory = try world.sandbox.makeDirectory("cdi-bad-" + file)
            let path = directory + "/" + file
            if file == "b-twice.json" { try Files.write(good, to: directory + "/a.yaml") }
            try Files.write(text, to: path)
            try shell(["chown", "-R", "\(world.user.uid):\(world.user.gid)", directory])
            let result = try world.sandbox.udocker(["run", "--nobanner", "--cdi-spec-dir=" + directory, "--device=example.com/gpu=0",
                                                    try world.container(.U1), "/bin/true"])
            #expect(result.status == 1 && result.errLines.count == 1 && result.err.hasPrefix("Error: " + expected(path)), "\(file): \(result)")
        }
        // A spec anyone may change could name any program for R1 to run: refused.
        let open = try world.sandbox.makeDirectory("cdi-open")
        try Files.write(good, to: open + "/open.yaml", mode: 0o666)
        try shell(["chown", "-R", "\(world.user.uid):\(world.user.gid)", open])
        try shell(["chmod", "0666", open + "/open.yaml"])
        let untrusted = try world.sandbox.udocker(["run", "--nobanner", "--cdi-spec-dir=" + open, "--device=example.com/gpu=0",
                                                   try world.container(.U1), "/bin/true"])
        #expect(untrusted.status == 1 && untrusted.errLines == ["Error: CDI spec \(open)/open.yaml is not trusted: its spec is writable by others (mode 666)"],
                "\(untrusted)")
        // A device no spec defines, and a --device that is neither a CDI name nor a /dev path.
        let unknown = try run(.U1, vendor, devices: ["example.com/gpu=7"], "true")
        #expect(unknown.errLines == ["Error: CDI device example.com/gpu=7 is not defined (example.com/gpu has 0 1 all)"], "\(unknown)")
        let invalid = try run(.U1, vendor, devices: ["gpu0"], "true")
        #expect(invalid.errLines == ["Error: invalid --device: gpu0 (a CDI device VENDOR/CLASS=NAME, or /dev/X[:/dev/Y])"], "\(invalid)")
    }
}
}
