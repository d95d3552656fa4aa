import Foundation

/// `save`: writes images as a docker-save tarball that `docker load`, `skopeo copy docker-archive:` and
/// udocker's `load` (1.3 and this one) read:
///
///     manifest.json                 [{"Config": "<hex>.json", "RepoTags": ["name:tag"], "Layers": ["<id>/layer.tar", ...]}]
///     repositories                  {"name": {"tag": "<top layer id>"}}  (the legacy index udocker 1.3 reads)
///     <hex>.json                    the image configuration, named by its sha256
///     <id>/VERSION, <id>/json       legacy per-layer metadata (udocker 1.3's loader walks the `parent` chain)
///     <id>/layer.tar                the layer blob as stored, compressed or not: docker load and skopeo
///                                   decompress what needs it, and the digests survive a save/load round trip
public struct ImageArchiveSaver {
    public let store: ImageStore

    public init(store: ImageStore) { self.store = store }

    public func save(_ references: [ImageReference], to output: TarOutput) throws {
        guard !references.isEmpty else { throw UdockerError(.usage, "no image to save") }
        // Everything that can fail before a byte is written is done first.
        let plans = try references.map { try plan(store.image($0)) }
        try output.write { fd in
            let writer = try TarWriter(descriptor: fd)
            try write(plans, with: writer)
            try writer.finish()
        }
    }

    private struct Plan {
        let reference: ImageReference
        let configName: String
        let config: Data
        /// Layer ids (the blob's hex digest) and files, bottom first.
        let layers: [(id: String, file: String)]
    }

    private func plan(_ image: StoredImage) throws -> Plan {
        let layers = zip(image.layerIDs, image.layerFiles).map { id, file in
            (id: id.hasPrefix("sha256:") ? String(id.dropFirst(7)) : id, file: file)
        }
        var config = try image.configJSON()
        if image.format != .v2 {
            config = try Self.configWithDiffIDs(config, layers: layers.map(\.file))
        }
        return Plan(reference: image.reference, configName: String(try Digest.sha256(config).dropFirst(7)) + ".json",
                    config: config, layers: layers)
    }

    /// Schema 1 and v1 images keep a v1 image JSON, without the layer DiffIDs docker load checks: add them.
    private static func configWithDiffIDs(_ json: Data, layers: [String]) throws -> Data {
        guard var config = try JSONSerialization.jsonObject(with: json) as? [String: Any] else {
            throw UdockerError(.invalidInput, "image configuration is not a JSON object")
        }
        for key in ["id", "parent", "Size", "layer_id"] { config[key] = nil }
        config["rootfs"] = ["type": "layers", "diff_ids": try layers.map { try ArchiveInspector.inspectLayer($0).diffID }]
        return try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys, .withoutEscapingSlashes])
    }

    private func write(_ plans: [Plan], with writer: TarWriter) throws {
        var manifest: [[String: Any]] = []
        var repositories: [String: [String: String]] = [:]
        for plan in plans {
            let tagged = !plan.reference.tag.hasPrefix("sha256:")
            manifest.append(["Config": plan.configName, "RepoTags": tagged ? [plan.reference.description] : [],
                             "Layers": plan.layers.map { $0.id + "/layer.tar" }])
            if tagged, let top = plan.layers.last {
                repositories[plan.reference.name, default: [:]][plan.reference.tag] = top.id
            }
        }
        try writer.add(TarEntry("manifest.json", .file(JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys, .withoutEscapingSlashes]))))
        try writer.add(TarEntry("repositories", .file(JSONSerialization.data(withJSONObject: repositories, options: [.sortedKeys, .withoutEscapingSlashes]))))

        var written = Set<String>()
        for plan in plans {
            if written.insert(plan.configName).inserted { try writer.add(TarEntry(plan.configName, .file(plan.config))) }
            var parent: String?
            for layer in plan.layers {
                defer { parent = layer.id }
                guard written.insert(layer.id).inserted else { continue }
                var legacy: [String: Any] = ["id": layer.id, "created": "1970-01-01T00:00:00Z"]
                if let parent { legacy["parent"] = parent }
                try writer.add(.directory(layer.id))
                try writer.add(.file(layer.id + "/VERSION", "1.0"))
                try writer.add(TarEntry(layer.id + "/json", .file(JSONSerialization.data(withJSONObject: legacy, options: [.sortedKeys, .withoutEscapingSlashes]))))
                try writer.addFile(layer.id + "/layer.tar", contentsOf: layer.file)
            }
        }
    }
}
