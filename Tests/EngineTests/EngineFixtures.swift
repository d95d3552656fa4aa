import Foundation
import Testing
import TestSupport
import UdockerCore

/// All engine suites share one repository and its containers, so they run one test at a time.
@Suite(.serialized) enum EngineSuites {}

/// The two guests the mode table runs on, built by the tests: a busybox-static root (the P modes' and R2/R3's
/// guest: Debian's proot 5.1 cannot start glibc ≥ 2.33 programs) and a Debian bookworm minbase root made by
/// mmdebstrap (dynamic glibc programs, which the F modes need). One repository holds one container per mode.
final class EngineWorld: @unchecked Sendable {
    let sandbox: Sandbox
    let user: TestUser
    private var containers: [ExecMode: String] = [:]
    private let lock = NSLock()
    private let debianTar: String
    /// The Debian root as mmdebstrap made it: what the F3/F4 containers' files were before any patch.
    let debianBase: String

    static let shared = OnceValue<EngineWorld>()
    static func get() throws -> EngineWorld { try shared.get { try EngineWorld() } }

    static let busyboxModes: [ExecMode] = [.P1, .P2, .R2, .R3]
    static let tableModes: [ExecMode] = [.P1, .P2, .F1, .F2, .F3, .F4, .R1, .R2, .R3, .U1]

    private init() throws {
        user = try TestUser.unprivileged()
        sandbox = try Sandbox("engines", user: user)
        debianTar = try DebianRootfs.tarball("bookworm")
        debianBase = sandbox.directory + "/debian-base"
        try Files.makeDirectory(debianBase)
        try shell(["tar", "-xf", debianTar, "-C", debianBase, "--exclude=./dev/*", "--no-same-owner"])
        try shell(["chown", "-R", "\(user.uid):\(user.gid)", sandbox.directory])
    }

    /// The container for `mode`, made on first use and set up with `setup --execmode`.
    func container(_ mode: ExecMode) throws -> String {
        lock.lock(); defer { lock.unlock() }
        if let name = containers[mode] { return name }
        let name = "c" + mode.rawValue.lowercased()
        let repository = Repository(config: try Config.load(environment: sandbox.environment))
        let debian = !Self.busyboxModes.contains(mode)
        _ = try ContainerStore(repository: repository).create(imageName: debian ? "debian:bookworm" : "busybox:static",
                                                              configJSON: nil, name: name) { root in
            if debian {
                // Hard links are enough where nothing is rewritten in place; F3/F4's patchelf does rewrite.
                if mode == .F3 || mode == .F4 {
                    try shell(["tar", "-xf", debianTar, "-C", root, "--exclude=./dev/*", "--no-same-owner"])
                } else {
                    try shell(["cp", "-al", debianBase + "/.", root])
                }
            } else {
                try Self.populateBusybox(root)
            }
        }
        try shell(["chown", "-R", "\(user.uid):\(user.gid)", sandbox.udockerDir])
        let setup = try sandbox.udocker(["setup", "--execmode=" + mode.rawValue, name])
        guard setup.succeeded else { throw TestSupportError("setup \(mode.rawValue) failed: \(setup)") }
        containers[mode] = name
        return name
    }

    func run(_ mode: ExecMode, _ arguments: [String], stdin: String? = nil) throws -> CommandResult {
        let name = try container(mode)
        return try sandbox.udocker(["run", "--nobanner"] + arguments.prefix { $0 != "--" } + [name]
                                   + arguments.drop { $0 != "--" }.dropFirst(), stdin: stdin.map { Data($0.utf8) })
    }

    static func populateBusybox(_ root: String) throws {
        for dir in ["bin", "etc", "tmp", "dev", "proc", "sys", "root"] { try Files.makeDirectory(root + "/" + dir) }
        try Files.copy("/bin/busybox", to: root + "/bin/busybox", mode: 0o755)
        let list = try shell(["/bin/busybox", "--list"])
        for name in list.split(separator: "\n") where name != "busybox" {
            guard symlink("busybox", root + "/bin/" + name) == 0 else { throw TestSupportError("cannot link \(name)") }
        }
        try Files.write("root:x:0:0:root:/root:/bin/sh\n", to: root + "/etc/passwd")
        try Files.write("root:x:0:\n", to: root + "/etc/group")
    }
}

@discardableResult
func shell(_ argv: [String]) throws -> String {
    let result = try Command.run(argv, timeout: .seconds(600))
    guard result.succeeded else { throw TestSupportError("\(argv.joined(separator: " ")) failed: \(result)") }
    return result.out
}
