import Foundation

/// Downloads the blobs of one image a few at a time on a libcurl multi handle, on the calling thread. Each blob is
/// an `Exchange` under `RegistryTransport`'s policy (auth, redirects, retries that resume) streaming into its
/// `BlobFile`; it lands in `layers/` only once its digest matched.
final class BlobFetcher {
    struct Job {
        let descriptor: Descriptor
        let request: HTTPRequest
    }

    private let transport: RegistryTransport
    private let repository: Repository
    private let concurrency: Int
    private let progress: PullProgress

    init(transport: RegistryTransport, repository: Repository, concurrency: Int, progress: PullProgress) {
        self.transport = transport
        self.repository = repository
        self.concurrency = max(1, concurrency)
        self.progress = progress
    }

    func fetch(_ jobs: [Job]) throws {
        var ready: [Exchange] = []
        var heldElsewhere: [Job] = []
        for job in jobs {
            progress.add(job.descriptor.digest, size: job.descriptor.size)
            switch try open(job, wait: false) {
            case .ready(let blob): ready.append(Exchange(job.request, sink: blob))
            case .busy: heldElsewhere.append(job)
            case .stored: progress.finished(job.descriptor.digest)
            }
        }
        try run(ready)
        // Blobs another udocker process was downloading: wait for it, then take over if it did not finish.
        for job in heldElsewhere {
            Log.info("waiting for another udocker process downloading \(job.descriptor.digest)")
            switch try open(job, wait: true) {
            case .ready(let blob): try run([Exchange(job.request, sink: blob)])
            case .busy, .stored: progress.finished(job.descriptor.digest)
            }
        }
    }

    private func open(_ job: Job, wait: Bool) throws -> BlobFile.Opening {
        try BlobFile.open(digest: job.descriptor.digest, expectedSize: job.descriptor.size, repository: repository, wait: wait)
    }

    private func run(_ exchanges: [Exchange]) throws {
        guard !exchanges.isEmpty else { return }
        let multi = try CurlMulti()
        var queue = exchanges
        var active: [ObjectIdentifier: Exchange] = [:]
        var idle: [CurlEasy] = []
        while !queue.isEmpty || !active.isEmpty {
            let now = Date()
            while active.count < concurrency, let next = queue.firstIndex(where: { $0.notBefore <= now }) {
                let exchange = queue.remove(at: next)
                let easy = try idle.popLast() ?? CurlEasy()
                easy.prepare(try transport.attempt(for: exchange), options: transport.options, sink: exchange.sink)
                try multi.add(easy)
                active[ObjectIdentifier(easy)] = exchange
            }
            for (easy, result) in try multi.step() {
                guard let exchange = active.removeValue(forKey: ObjectIdentifier(easy)), let blob = exchange.sink else { continue }
                idle.append(easy)
                switch try transport.evaluate(exchange, result) {
                case .again:
                    queue.insert(exchange, at: 0)
                case .done(let response):
                    try response.requireSuccess("blob \(blob.digest)")
                    try blob.commit()
                    progress.finished(blob.digest)
                }
            }
            for exchange in active.values {
                if let blob = exchange.sink { progress.update(blob.digest, bytes: blob.size, resumedAt: blob.resumedAt) }
            }
            progress.draw()
            if !active.isEmpty {
                try multi.wait(milliseconds: 100)
            } else if let due = queue.map(\.notBefore).min(), due > Date() {
                usleep(UInt32(min(due.timeIntervalSinceNow, 0.1) * 1_000_000))
            }
        }
    }
}
