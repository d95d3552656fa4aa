import Foundation

/// `pull`: fetches an image's manifest (choosing a platform from an index), downloads its config and layers in
/// parallel, and stores the tag only when every blob is in `layers/` with a verified digest. Blobs already
/// present are not fetched again; an interrupted pull resumes its partial files next time.
public struct ImagePuller {
    public let client: RegistryClient
    public let store: ImageStore

    public init(client: RegistryClient, store: ImageStore) {
        self.client = client
        self.store = store
    }

    /// The single-platform manifest for `image`: when the registry serves an index, the entry for `platform`
    /// (the host's by default).
    public func resolveManifest(_ image: RemoteImage, platform: Platform?) throws -> (RemoteManifest, Platform?) {
        let manifest = try client.manifest(image.repository, image.reference)
        guard case .index(let entries) = manifest.content else { return (manifest, nil) }
        let wanted = platform ?? Platform.host
        let entry = try Platform.select(wanted, from: entries, image: image.description)
        Log.verbose("\(image): \(entry.platform!) is \(entry.digest)")
        let chosen = try client.manifest(image.repository, entry.digest)
        guard case .image = chosen.content else {
            throw UdockerError(.registry, "\(image): the index entry for \(wanted) is not an image manifest")
        }
        return (chosen, entry.platform)
    }

    /// Returns the platform chosen from an index (nil when the registry served a single image).
    @discardableResult
    public func pull(_ image: RemoteImage, platform: Platform?) throws -> Platform? {
        let started = Date()
        let (manifest, chosenPlatform) = try resolveManifest(image, platform: platform)
        guard case .image(let config, let layers) = manifest.content else {
            throw UdockerError(.registry, "\(image): expected an image manifest")
        }
        var seen = Set<String>()
        let blobs = ([config] + layers).filter { seen.insert($0.digest).inserted }
        // Blobs found present must stay until the tag links them: no rmi next to us may take them meanwhile.
        try store.whileAddingBlobs {
            // A blob in layers/ was verified when it was stored there; one whose size is wrong was cut short by a crash.
            let missing = blobs.filter { blob in
                let size = FileSystem.size(store.repository.layerPath(blob.digest))
                return size < 0 || (blob.size.map { $0 != size } ?? false)
            }

            let bytes = missing.reduce(Int64(0)) { $0 + ($1.size ?? 0) }
            if !missing.isEmpty {
                Log.info("downloading \(missing.count) of \(blobs.count) blobs of \(image) (\(PullProgress.formatSize(bytes)))")
            }
            let fetcher = BlobFetcher(transport: client.transport, repository: store.repository,
                                      concurrency: client.settings.concurrentDownloads, progress: PullProgress())
            try fetcher.fetch(missing.map { BlobFetcher.Job(descriptor: $0, request: client.blobRequest(image.repository, $0.digest)) })
            // A pull brings the tag up to date: it replaces what was stored under it.
            try store.storeTag(image.local, manifest: manifest.data, config: config.digest, layers: layers.map(\.digest),
                               replace: true)
        }
        let seconds = Date().timeIntervalSince(started)
        Log.info("pulled \(image.local)" + (chosenPlatform.map { " (\($0))" } ?? "")
                 + String(format: " in %.1f s", seconds))
        return chosenPlatform
    }
}
