import Foundation

/// The authority on every path under a udocker repository (udocker 1.3 layout):
///
///     TOPDIR/ bin lib doc keystore
///     TOPDIR/repos/<image name>/<tag>/   TAG, v2|v1, manifest|ancestry, PROTECT, links to ../layers/<digest>
///     TOPDIR/layers/sha256:<hex>         content-addressed blobs (layer tarballs and image configs)
///     TOPDIR/containers/<id>/            ROOT/, imagerepo.name, container.json, execmode, PROTECT, F-mode files
///     TOPDIR/containers/<name> -> <id>   relative symlink
///
/// No other code builds these paths by hand.
public struct Repository: Sendable {
    public let topDir: String
    public let binDir: String
    public let libDir: String
    public let docDir: String
    public let reposDir: String
    public let layersDir: String
    public let containersDir: String
    public let keystorePath: String
    public let tmpDir: String
    public let config: Config

    public init(config: Config) {
        self.config = config
        let top = config.topDir
        topDir = top
        binDir = config["bindir"] ?? top + "/bin"
        libDir = config["libdir"] ?? top + "/lib"
        docDir = config["docdir"] ?? top + "/doc"
        reposDir = config["reposdir"] ?? top + "/repos"
        layersDir = config["layersdir"] ?? top + "/layers"
        containersDir = config["containersdir"] ?? top + "/containers"
        let keystore = config["keystore"] ?? "keystore"
        keystorePath = keystore.hasPrefix("/") ? keystore : top + "/" + keystore
        tmpDir = config.tmpDir
    }

    /// udocker's is_repo(): the directories it creates all exist.
    public var exists: Bool {
        [reposDir, layersDir, containersDir, binDir, libDir].allSatisfy(FileSystem.isDirectoryFollowingLinks)
    }

    public func create() throws {
        for dir in [topDir, reposDir, layersDir, containersDir, binDir, libDir, docDir] {
            try FileSystem.makeDirectories(dir)
        }
    }

    // MARK: images

    public func repoDir(_ name: String) -> String { reposDir + "/" + name }
    public func tagDir(_ name: String, _ tag: String) -> String { reposDir + "/" + name + "/" + tag }
    public func layerPath(_ digest: String) -> String { layersDir + "/" + digest }
    /// Where a blob is written while it is downloaded or copied in, before its digest is checked.
    public func ingestPath(_ digest: String) -> String { layersDir + "/." + digest + ".partial" }

    // MARK: containers

    public func containerDir(_ id: String) -> String { containersDir + "/" + id }
    public func containerRoot(_ id: String) -> String { containersDir + "/" + id + "/ROOT" }
    public func containerFile(_ id: String, _ file: ContainerFile) -> String {
        containersDir + "/" + id + "/" + file.rawValue
    }
    public func containerNameLink(_ name: String) -> String { containersDir + "/" + name }

    /// What host programs said about themselves when run (`ProgramFacts`), kept between runs.
    public var programFactsPath: String { topDir + "/.program-facts" }

    /// The lock file serialising changes to one image tag or container. Lock files live on in `.locks/`:
    /// deleting one while another process waits on it would let two holders in.
    public func lockPath(_ name: String) -> String {
        topDir + "/.locks/" + String(name.map { $0 == "/" ? "%" : $0 })
    }
}

/// Files kept beside a container's ROOT, named as udocker 1.3 names them.
public enum ContainerFile: String, Sendable, CaseIterable {
    case imageRepoName = "imagerepo.name"
    case containerJSON = "container.json"
    case execMode = "execmode"
    case protect = "PROTECT"
    case rootPath = "root.path"          // F modes: absolute ROOT path baked into patched files
    case ldSoPath = "ld.so.path"         // F modes: the container loader in use
    case ldSoOrig = "ld.so.orig"         // F2+: the original loader, kept to restore
    case ldLibDirs = "ld.lib.dirs"       // F modes: the container's library directories
    case patchTime = "patch.time"        // F4: when files were last patched
    case patchPath = "patch.path"        // F3/F4: the ROOT path the patch was made for
    case linksConverted = "links.conv"   // F modes: absolute symlinks made relative (path, old target), for --purge
    case patchList = "patch.list"        // F3/F4: each patched file with its original interpreter and rpath
    case patchOriginals = "patch.orig"   // F3/F4: a directory of each patched file's original bytes
    case passwd = "passwd"               // the passwd copy bound over /etc/passwd (adds the invoking user)
    case group = "group"                 // the group copy bound over /etc/group
    case autoMode = "execmode.auto"      // setup --execmode=auto: the verdict of the last probe (JSON)
    case volumeLinks = "volume.links"    // F modes: volumes linked in ROOT, and what each link replaced
    case nvidia = "nvidia"               // setup --nvidia: bind the host's NVIDIA driver at every run (udocker 1.3's name)
    case cdiLinks = "cdi.links"          // the links CDI hooks asked for (create-symlinks) made in ROOT, as volume.links
}
