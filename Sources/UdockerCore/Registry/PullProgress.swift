import Foundation

/// A pull's downloads on stderr: a live table (each blob and the total, bytes and rate) when stderr is a terminal,
/// a line per finished blob otherwise, nothing under -q.
final class PullProgress {
    private struct Item {
        let digest: String
        let size: Int64?
        var bytes: Int64 = 0
        var resumedAt: Int64 = 0
        var startedAt = Date()
        var state = State.waiting
    }
    private enum State: String { case waiting, downloading, done }

    private var items: [Item] = []
    private let live: Bool
    private let enabled: Bool
    private let started = Date()
    private var lastDraw = Date.distantPast
    private var drawnLines = 0

    init() {
        enabled = Log.isEnabled(.info)
        live = enabled && isatty(2) == 1
    }

    func add(_ digest: String, size: Int64?) { items.append(Item(digest: digest, size: size)) }

    func update(_ digest: String, bytes: Int64, resumedAt: Int64) {
        guard let index = items.firstIndex(where: { $0.digest == digest }) else { return }
        items[index].bytes = bytes
        items[index].resumedAt = resumedAt
        if items[index].state == .waiting {
            items[index].state = .downloading
            items[index].startedAt = Date()
        }
    }

    func finished(_ digest: String) {
        guard let index = items.firstIndex(where: { $0.digest == digest }) else { return }
        items[index].state = .done
        if let size = items[index].size { items[index].bytes = size }
        if enabled && !live { Log.info("downloaded \(Self.short(digest)) (\(Self.formatSize(items[index].bytes)))") }
        draw(force: true)
    }

    /// Redraws the live table, at most ten times a second unless forced.
    func draw(force: Bool = false) {
        guard live, force || Date().timeIntervalSince(lastDraw) >= 0.1 else { return }
        lastDraw = Date()
        let now = Date()
        var lines = items.map { item -> String in
            let total = item.size.map { "/" + Self.formatSize($0) } ?? ""
            let rate = item.state == .downloading
                ? "  " + Self.rate(item.bytes - item.resumedAt, now.timeIntervalSince(item.startedAt)) : ""
            return " \(Self.short(item.digest))  \(item.state.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0))"
                + " \(Self.formatSize(item.bytes))\(total)\(rate)"
        }
        let bytes = items.reduce(Int64(0)) { $0 + $1.bytes }, fresh = items.reduce(Int64(0)) { $0 + $1.bytes - $1.resumedAt }
        let size = items.reduce(Int64(0)) { $0 + ($1.size ?? $1.bytes) }
        lines.append(" total                      \(Self.formatSize(bytes))/\(Self.formatSize(size))  \(Self.rate(fresh, now.timeIntervalSince(started)))")
        var text = drawnLines > 0 ? "\u{1B}[\(drawnLines)A" : ""
        for line in lines { text += "\r\u{1B}[2K" + line + "\n" }
        drawnLines = lines.count
        Output.stderr(text)
    }

    static func short(_ digest: String) -> String { String(digest.prefix(19)) }

    /// Sizes as docker shows them: kB below a megabyte, MB above (decimal units).
    static func formatSize(_ bytes: Int64) -> String {
        bytes < 1_000_000 ? String(format: "%.1f kB", Double(bytes) / 1e3) : String(format: "%.1f MB", Double(bytes) / 1e6)
    }

    static func rate(_ bytes: Int64, _ seconds: Double) -> String {
        String(format: "%.1f MB/s", Double(bytes) / 1e6 / max(seconds, 0.001))
    }
}
