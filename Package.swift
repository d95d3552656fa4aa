// swift-tools-version:6.0
import PackageDescription

/// C libraries come from Debian's -dev packages (see `make deps`); each is wrapped by exactly one Swift file
/// or folder in UdockerCore so no other code handles its pointers. None is linked: each is opened with dlopen the
/// first time a command needs it (Sources/CLinux/include/ondemand.h), so a command starts without loading the
/// others, and runs on a node that lacks them.

let package = Package(
    name: "udocker-swift",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "udocker", targets: ["udocker"]),
        .executable(name: "udocker-launch", targets: ["udocker-launch"]),
        .library(name: "UdockerCore", targets: ["UdockerCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // CDI specs (Host/CDISpec*.swift) are YAML or JSON: read with a maintained parser (libyaml underneath).
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // Each target's C file forwards the calls UdockerCore makes to the library it dlopens (headers from
        // libcurl4-openssl-dev, libarchive-dev, libssl-dev, libhwloc-dev, libnuma-dev, libsquashfs-dev).
        .target(name: "CCurl", dependencies: ["CLinux"]),
        .target(name: "CArchive", dependencies: ["CLinux"]),
        .target(name: "CCrypto", dependencies: ["CLinux"]),
        .target(name: "CHwloc", dependencies: ["CLinux"]),
        .target(name: "CNuma", dependencies: ["CLinux"]),
        // libsquashfs (libsquashfs-dev): SquashFS images built from an image's layers (Archive/Squash*.swift).
        .target(name: "CSquashfs", dependencies: ["CLinux"]),
        // libsquashfuse_ll and libfuse3 (libsquashfuse-dev, libfuse3-dev): a SquashFS served with FUSE by the
        // namespace's keeper (Exec/SquashMount.swift).
        .target(name: "CSquashfuse", dependencies: ["CLinux"]),
        // glibc calls declared only under _GNU_SOURCE (unshare, sched_setaffinity, posix_spawn extensions).
        .target(name: "CLinux"),
        .target(name: "UdockerCore", dependencies: ["CCurl", "CArchive", "CHwloc", "CNuma", "CCrypto", "CSquashfs", "CSquashfuse", "CLinux",
                                                    .product(name: "Yams", package: "Yams")]),
        .target(name: "UdockerCLI", dependencies: [
            "UdockerCore",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "udocker", dependencies: ["UdockerCLI"]),
        .executableTarget(name: "udocker-launch", dependencies: ["UdockerCLI"]),
        // bench/launch: the launcher's MPI benchmark on the tests' two-node SLURM (run by bench/launch/run.sh).
        .executableTarget(name: "launch-bench", dependencies: ["TestSupport"], path: "bench/launch/LaunchBenchmark"),
        // Shared by the test targets: the unprivileged user, staged binaries, fixture images, daemons, the SLURM cluster.
        // Runs a command in a U1 namespace whose root is a SquashFS served by the keeper, as the test user
        // (SquashMountTests): the mount is not wired into udocker's commands yet.
        .executableTarget(name: "squash-mount-probe", dependencies: ["UdockerCore"], path: "Tests/SquashMountProbe"),
        .target(name: "TestSupport", dependencies: ["UdockerCore", "CLinux"], path: "Tests/TestSupport"),
        // Expectations about commands (Swift Testing), for the suites that drive the built binaries.
        .target(name: "CommandExpectations", dependencies: ["TestSupport"], path: "Tests/CommandExpectations"),
        .testTarget(name: "UdockerCoreTests", dependencies: ["UdockerCore", "TestSupport"]),
        // The command-line layer's own readers, against swift-argument-parser's.
        .testTarget(name: "UdockerCLITests", dependencies: ["UdockerCLI"]),
        .testTarget(name: "EndToEndTests", dependencies: ["UdockerCore", "TestSupport", "CommandExpectations"]),
        .testTarget(name: "RegistryTests", dependencies: ["UdockerCore", "TestSupport", "CommandExpectations"]),
        .testTarget(name: "EngineTests", dependencies: ["UdockerCore", "TestSupport", "CommandExpectations"]),
        // udocker-launch on a two-node SLURM on this machine (TestSupport's SlurmCluster) with MPI images.
        .testTarget(name: "LaunchTests", dependencies: ["UdockerCore", "TestSupport", "CommandExpectations"]),
    ],
    swiftLanguageModes: [.v6]
)
