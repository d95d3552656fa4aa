import Foundation

/// One image found in an unpacked image archive, before anything is stored.
struct StagedImage {
    /// Names from the archive; an empty `name` means only the tag is known, an empty list that neither is.
    var tags: [ImageReference]
    let config: StagedBlob
    let layers: [StagedBlob]
    /// The manifest to store as it is (an OCI layout's own); nil when one is to be written.
    let manifest: Data?
}

/// A file in the staging directory and, when the archive names it by digest, that digest.
struct StagedBlob {
    let path: String
    let digest: String?
}

/// Reads an unpacked image archive: a docker-save layout (manifest.json, with the legacy `repositories` file
/// for names) or an OCI image layout (oci-layout, index.json, blobs/). Everything the archive's metadata names
/// is checked to be a regular file inside the staging directory, reached without symlinks.
enum ImageArchiveLayout {
    static func read(_ staging: String) throws -> [StagedImage] {
        // Docker 25+ writes both layouts; manifest.json then carries Docker's own names.
        if FileSystem.isFile(staging + "/manifest.json") { return try DockerSaveLayout(staging: staging).images() }
        if FileSystem.isFile(staging + "/index.json") { return try OCIImageLayout(staging: staging).images() }
        throw UdockerError(.invalidInput, "not a docker-save or OCI image archive: it has no manifest.json or index.json")
    }

    /// `relative` (as the archive's metadata names it) as a path inside `staging`, after checking that it is a
    /// regular file reached through real directories only.
    static func file(_ relative: String, in staging: String) throws -> String {
        let parts = relative.split(separator: "/").filter { $0 != "." }
        guard !relative.hasPrefix("/"), !parts.isEmpty, !parts.contains("..") else {
            throw UdockerError(.invalidInput, "image archive names a file outside itself: \(relative)")
        }
        var path = staging
        for (index, part) in parts.enumerated() {
            path += "/" + part
            let wanted: FileSystem.Kind = index == parts.count - 1 ? .file : .directory
            guard FileSystem.kind(path) == wanted else {
                throw UdockerError(.invalidInput, "image archive lacks \(relative)")
            }
        }
        return path
    }

    static func json(_ path: String, _ what: String) throws -> Any {
        guard let value = try? JSONSerialization.jsonObject(with: FileSystem.read(path)) else {
            throw UdockerError(.invalidInput, "image archive has an unreadable \(what)")
        }
        return value
    }

    /// A name as written in an archive, in the repository's form: Docker Hub's prefixes dropped.
    static func reference(_ text: String) throws -> ImageReference {
        var name = text
        for prefix in ["docker.io/library/", "docker.io/"] where name.hasPrefix(prefix) {
            name.removeFirst(prefix.count)
            break
        }
        let reference: ImageReference
        do { reference = try ImageReference.parse(name) } catch {
            throw UdockerError(.invalidInput, "image archive has an invalid image name: \(text)")
        }
        // As docker load: an archive names its images by tag; a digest is what the content has, not a name.
        guard !reference.tag.hasPrefix("sha256:") else {
            throw UdockerError(.invalidInput, "image archive names an image by digest, not by tag: \(text)")
        }
        return reference
    }
}

/// `docker save`: manifest.json lists each image's config file, its names and its layer tarballs, bottom
/// first. Layer files are not named by digest; their digests are computed when they are stored.
struct DockerSaveLayout {
    let staging: String

    func images() throws -> [StagedImage] {
        guard let items = try ImageArchiveLayout.json(staging + "/manifest.json", "manifest.json") as? [[String: Any]] else {
            throw UdockerError(.invalidInput, "image archive has an unreadable manifest.json")
        }
        let legacyNames = try repositories()
        return try items.map { item in
            guard let configName = item["Config"] as? String, let layerNames = item["Layers"] as? [String] else {
                throw UdockerError(.invalidInput, "image archive's manifest.json lacks Config or Layers")
            }
            let config = try ImageArchiveLayout.file(configName, in: staging)
            guard (try? ImageConfig(json: FileSystem.read(config))) != nil else {
                throw UdockerError(.invalidInput, "image archive has an unreadable image configuration \(configName)")
            }
            var tags = try (item["RepoTags"] as? [String] ?? []).map(ImageArchiveLayout.reference)
            if tags.isEmpty, let top = layerNames.last {
                // Old archives name images only in `repositories`, by the id of their top layer.
                tags = legacyNames[Paths.basename(Paths.dirname(top))] ?? []
            }
            return StagedImage(
                tags: tags, config: StagedBlob(path: config, digest: nil),
                layers: try layerNames.map { StagedBlob(path: try ImageArchiveLayout.file($0, in: staging), digest: nil) },
                manifest: nil)
        }
    }

    /// The legacy `repositories` file: `{"name": {"tag": "top layer id"}}`, as names by layer id.
    private func repositories() throws -> [String: [ImageReference]] {
        let path = staging + "/repositories"
        guard FileSystem.isFile(path) else { return [:] }
        guard let repositories = try ImageArchiveLayout.json(path, "repositories file") as? [String: [String: String]] else {
            throw UdockerError(.invalidInput, "image archive has an unreadable repositories file")
        }
        var names: [String: [ImageReference]] = [:]
        for (name, tags) in repositories.sorted(by: { $0.key < $1.key }) {
            for (tag, layer) in tags.sorted(by: { $0.key < $1.key }) {
                names[layer, default: []].append(try ImageArchiveLayout.reference(name + ":" + tag))
            }
        }
        return names
    }
}

/// An OCI image layout: index.json lists manifests (or nested indexes) by digest; every blob lives under
/// blobs/sha256/. Names come from the `io.containerd.image.name` annotation (a full name) or
/// `org.opencontainers.image.ref.name` (usually just a tag).
struct OCIImageLayout {
    let staging: String

    private static let indexTypes: Set<String> = [
        "application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json",
    ]

    func images() throws -> [StagedImage] {
        guard FileSystem.isFile(staging + "/oci-layout") else {
            throw UdockerError(.invalidInput, "image archive has index.json but no oci-layout file")
        }
        guard let index = try ImageArchiveLayout.json(staging + "/index.json", "index.json") as? [String: Any],
              let descriptors = index["manifests"] as? [[String: Any]] else {
            throw UdockerError(.invalidInput, "image archive has an unreadable index.json")
        }
        return try descriptors.map { descriptor in
            let (data, manifest) = try imageManifest(descriptor, depth: 0)
            guard let config = manifest["config"] as? [String: Any], let layers = manifest["layers"] as? [[String: Any]] else {
                throw UdockerError(.invalidInput, "image manifest in the archive lacks its config or layers")
            }
            return StagedImage(tags: try names(descriptor["annotations"] as? [String: String] ?? [:]),
                               config: try blob(config), layers: try layers.map { try blob($0) }, manifest: data)
        }
    }

    private func names(_ annotations: [String: String]) throws -> [ImageReference] {
        if let full = annotations["io.containerd.image.name"] { return [try ImageArchiveLayout.reference(full)] }
        guard let refName = annotations["org.opencontainers.image.ref.name"] else { return [] }
        if ImageReference.isValidTag(refName) { return [ImageReference(name: "", tag: refName)] }
        return [try ImageArchiveLayout.reference(refName)]
    }

    /// Follows a descriptor to an image manifest: an index in between is resolved to the host's platform.
    /// A manifest's own mediaType may be missing (umoci leaves it out): the descriptor's, or the document's
    /// shape, tells what it is.
    private func imageManifest(_ descriptor: [String: Any], depth: Int) throws -> (Data, [String: Any]) {
        guard depth < 4 else { throw UdockerError(.invalidInput, "image archive nests indexes too deeply") }
        let data = try FileSystem.read(try blob(descriptor, verify: true).path)
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw UdockerError(.invalidInput, "image archive has an unreadable manifest")
        }
        let type = [descriptor["mediaType"] as? String, json["mediaType"] as? String].compactMap { $0 }.first { !$0.isEmpty }
        if Self.indexTypes.contains(type ?? "") || (type == nil && json["manifests"] != nil) {
            let children = json["manifests"] as? [[String: Any]] ?? []
            guard let child = Platform.selectForHost(from: children) else {
                throw UdockerError(.invalidInput, "image index in the archive lists no manifest")
            }
            return try imageManifest(child, depth: depth + 1)
        }
        guard json["fsLayers"] == nil else {
            throw UdockerError(.unsupported, "image archive holds a Docker schema 1 manifest, which is not supported")
        }
        return (data, json)
    }

    /// The blob a descriptor names. With `verify`, its content is checked now (manifests are read here; layers
    /// and configs are checked as they are stored).
    private func blob(_ descriptor: [String: Any], verify: Bool = false) throws -> StagedBlob {
        guard let digest = descriptor["digest"] as? String, Digest.isValid(digest) else {
            throw UdockerError(.unsupported, "image archive names a blob by an unsupported digest: \(descriptor["digest"] ?? "none")")
        }
        let path = try ImageArchiveLayout.file("blobs/sha256/" + digest.dropFirst("sha256:".count), in: staging)
        if verify {
            let actual = try Digest.sha256(file: path)
            guard actual == digest else {
                throw UdockerError(.digestMismatch, "image archive blob \(digest) has digest \(actual)")
            }
        }
        return StagedBlob(path: path, digest: digest)
    }
}
