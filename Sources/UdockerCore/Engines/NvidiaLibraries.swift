import Foundation

/// `setup --nvidia`: copies the host's NVIDIA driver libraries (the user-space half of the driver, which must
/// match the host kernel module) into the container's library directory, as udocker's NvidiaMode does.
public enum NvidiaLibraries {
    static let prefixes = ["libnvidia-", "libcuda.so", "libnvcuvid.so", "libnvoptix.so", "libGLX_nvidia.so", "libEGL_nvidia.so"]
    static let hostDirs = ["/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib/aarch64-linux-gnu", "/usr/lib/powerpc64le-linux-gnu"]

    public static func install(into root: String) throws {
        var found: [(dir: String, name: String)] = []
        for dir in hostDirs {
            for name in (try? FileSystem.list(dir)) ?? [] where prefixes.contains(where: name.hasPrefix) { found.append((dir, name)) }
        }
        guard !found.isEmpty else { throw UdockerError(.notFound, "no NVIDIA driver libraries found on this host") }
        for (dir, name) in found {
            let target = root + dir
            try FileSystem.makeDirectories(target)
            if let link = FileSystem.readLink(dir + "/" + name), FileSystem.isSymlink(dir + "/" + name) {
                try? FileSystem.removeFile(target + "/" + name)
                guard symlink(link, target + "/" + name) == 0 else { throw UdockerError.posix("cannot link", target + "/" + name) }
            } else {
                try FileSystem.atomicWrite(try FileSystem.read(dir + "/" + name), to: target + "/" + name, mode: 0o755)
            }
        }
        Log.info("copied \(found.count) NVIDIA libraries into the container")
    }
}
