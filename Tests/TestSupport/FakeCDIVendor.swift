import Foundation

/// A fake CDI vendor (`example.com/gpu` unless told another kind) laid out under a directory: stub shared
/// libraries libexgpu0.so.1 and libexgpu1.so.1 (gcc, each `exgpu_id()` returning its number), a probe program
/// that dlopens a library by its soname and prints what it returns, a hook script that records the OCI state it
/// is given on stdin, and a spec with devices `0`, `1` and `all`. Device N's node is the host's /dev/null (0) or
/// /dev/zero (1) at the new container path /dev/exgpuN (or at its own host path, `nodesAtHostPaths`, for F modes),
/// its library is mounted read-only at /opt/exgpu/N/, the NVIDIA toolkit's create-symlinks and update-ldcache hooks
/// (naming an nvidia-ctk that is not on the host) link /opt/exgpu/N/libexgpu.so and put /opt/exgpu/N on the
/// library path, and its env is EXGPU_N=yes and EXGPU_VISIBLE=N.
public struct FakeCDIVendor: Sendable {
    public let directory: String
    public let kind: String
    /// The spec directory (give it to --cdi-spec-dir).
    public var specDirectory: String { directory + "/cdi" }
    public var specFile: String { specDirectory + "/example.yaml" }
    public var probe: String { directory + "/probe/exgpu-probe" }
    public var probeDirectory: String { directory + "/probe" }
    public var hookScript: String { directory + "/hooks/record-state" }
    /// Where the unknown hook writes the state it was given.
    public var stateFile: String { directory + "/state/hook-state.json" }
    /// The nvidia-ctk the spec's toolkit hooks name: absent, so udocker does what they do.
    public var absentToolkit: String { directory + "/absent/nvidia-ctk" }

    public static let hostNodes = ["/dev/null", "/dev/zero"]

    public init(at directory: String, kind: String = "example.com/gpu", nodesAtHostPaths: Bool = false,
                unknownHook: Bool = true) throws {
        self.directory = directory
        self.kind = kind
        for sub in ["lib", "probe", "hooks", "state", "cdi", ".build"] { try Files.makeDirectory(directory + "/" + sub) }
        for index in 0..<2 {
            let source = directory + "/.build/exgpu\(index).c"
            try Files.write("int exgpu_id(void) { return \(index); }\n", to: source)
            try Self.run(["gcc", "-shared", "-fPIC", "-Wl,-soname,libexgpu\(index).so.1", "-o", library(index), source])
        }
        try Files.write("""
            #include <dlfcn.h>
            #include <stdio.h>
            int main(int argc, char **argv) {
                for (int i = 1; i < argc; i++) {
                    void *handle = dlopen(argv[i], RTLD_NOW);
                    int (*id)(void) = handle ? (int (*)(void))dlsym(handle, "exgpu_id") : 0;
                    if (id) printf("%s: exgpu_id %d\\n", argv[i], id()); else printf("%s: absent\\n", argv[i]);
                }
                return 0;
            }

            """, to: directory + "/.build/probe.c")
        try Self.run(["gcc", "-o", probe, directory + "/.build/probe.c", "-ldl"])
        try Files.write("#!/bin/sh\nexec /bin/cat > \"$1\"\n", to: hookScript, mode: 0o755)
        try Files.write(spec(nodesAtHostPaths: nodesAtHostPaths, unknownHook: unknownHook), to: specFile)
    }

    public func library(_ index: Int) -> String { directory + "/lib/libexgpu\(index).so.1" }
    public static func nodePath(_ index: Int, atHostPath: Bool) -> String { atHostPath ? hostNodes[index] : "/dev/exgpu\(index)" }

    /// The spec as YAML (device names quoted: a bare 0 is a number to YAML).
    public func spec(nodesAtHostPaths: Bool, unknownHook: Bool) -> String {
        func edits(_ indices: [Int], indent: String) -> String {
            var text = indent + "env:\n"
            for index in indices { text += indent + "- EXGPU_\(index)=yes\n" }
            text += indent + "- EXGPU_VISIBLE=\(indices.map(String.init).joined(separator: ","))\n"
            text += indent + "deviceNodes:\n"
            for index in indices {
                text += indent + "- path: \(Self.nodePath(index, atHostPath: nodesAtHostPaths))\n"
                text += indent + "  hostPath: \(Self.hostNodes[index])\n" + indent + "  permissions: rw\n"
            }
            text += indent + "mounts:\n"
            for index in indices {
                text += indent + "- hostPath: \(library(index))\n" + indent + "  containerPath: /opt/exgpu/\(index)/libexgpu\(index).so.1\n"
                text += indent + "  options: [ro, nosuid, nodev, bind]\n"
            }
            text += indent + "hooks:\n"
            for index in indices {
                text += indent + "- hookName: createContainer\n" + indent + "  path: \(absentToolkit)\n"
                text += indent + "  args: [nvidia-ctk, hook, create-symlinks, --link, 'libexgpu\(index).so.1::/opt/exgpu/\(index)/libexgpu.so']\n"
                text += indent + "- hookName: createContainer\n" + indent + "  path: \(absentToolkit)\n"
                text += indent + "  args: [nvidia-ctk, hook, update-ldcache, --folder, /opt/exgpu/\(index)]\n"
            }
            return text
        }
        var text = "---\ncdiVersion: 0.6.0\nkind: \(kind)\n"
        text += "containerEdits:\n  env:\n  - EXGPU_VENDOR=example\n"
        if unknownHook {
            text += "  hooks:\n  - hookName: createContainer\n    path: \(hookScript)\n    args: [record-state, \(stateFile)]\n"
        }
        text += "devices:\n"
        for (name, indices) in [("0", [0]), ("1", [1]), ("all", [0, 1])] {
            text += "- name: \"\(name)\"\n  containerEdits:\n" + edits(indices, indent: "    ")
        }
        return text
    }

    /// What the `report` script prints in a container given exactly `indices` (nodes at new paths unless told).
    public static func expectedReport(_ indices: [Int], nodes: Bool = true) -> [String] {
        var lines: [String] = []
        for index in 0..<2 {
            let mine = indices.contains(index)
            if nodes { lines.append(mine ? "node \(index)" : "no node \(index)") }
            lines.append(mine ? "link \(index)" : "no link \(index)")
            lines.append(mine ? "libexgpu\(index).so.1: exgpu_id \(index)" : "libexgpu\(index).so.1: absent")
        }
        lines += indices.map { "EXGPU_\($0)=yes" } + ["EXGPU_VENDOR=example", "EXGPU_VISIBLE=" + indices.map(String.init).joined(separator: ",")]
        return lines
    }

    /// A shell script printing, for each device, whether its node is there (a character device at /dev/exgpuN),
    /// its link leads to a library, and its library loads by soname; then the EXGPU variables.
    public static func report(probe: String, nodes: Bool = true) -> String {
        var script = "for i in 0 1; do "
        if nodes { script += "if [ -c /dev/exgpu$i ]; then echo \"node $i\"; else echo \"no node $i\"; fi; " }
        script += "if [ -L /opt/exgpu/$i/libexgpu.so ] && [ -s /opt/exgpu/$i/libexgpu.so ]; then echo \"link $i\"; else echo \"no link $i\"; fi; "
        script += "\(probe) libexgpu$i.so.1; done; env | grep '^EXGPU' | sort"
        return script
    }

    private static func run(_ argv: [String]) throws {
        let result = try Command.run(argv)
        guard result.succeeded else { throw TestSupportError("\(argv.joined(separator: " ")) failed: \(result)") }
    }
}
