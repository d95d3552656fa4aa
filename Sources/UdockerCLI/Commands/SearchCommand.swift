import ArgumentParser
import Foundation
import UdockerCore

struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search", _superCommandName: "udocker",
        abstract: "Search Docker Hub, or a registry's catalog, for images; or list an image's tags.",
        discussion: """
        EXPR searches Docker Hub (or --index). A registry host in EXPR (127.0.0.1:5000/tools) or --registry searches
        that registry's catalog for names containing the rest. --list-tags lists the tags of the image EXPR.
        """)

    @Flag(name: .customShort("a"), help: "Do not pause between pages.") var all = false
    @Flag(name: .customLong("no-trunc"), help: "Do not truncate the columns.") var noTrunc = false
    @Flag(name: .customLong("list-tags"), help: "List the tags of the image EXPR.") var listTags = false
    @OptionGroup var registryOptions: RegistryOptions
    @Argument(help: "Search expression, or image name with --list-tags.") var expression: String

    func run() throws {
        let context = try Context.get()
        let settings = registryOptions.settings(context)
        let keystore = RegistryAccess.keystore(context)
        if listTags {
            let image = try RemoteImage.resolve(expression, settings: settings)
            let client = try RegistryClient(for: image, settings: settings, keystore: keystore)
            for tag in try client.tags(image.repository) { Output.stdout(tag + "\n") }
            return
        }
        var pager = Pager(pausing: !all, truncating: !noTrunc)
        let parts = expression.split(separator: "/", maxSplits: 1).map(String.init)
        if let host = parts.first, RemoteImage.isHost(host) {
            try searchCatalog(of: URLParts.normalized(host), for: parts.count > 1 ? parts[1] : "", prefix: host + "/",
                              settings: settings, keystore: keystore, pager: &pager)
        } else if let registry = settings.registryOverride {
            try searchCatalog(of: registry, for: expression, prefix: URLParts.hostPort(registry) + "/",
                              settings: settings, keystore: keystore, pager: &pager)
        } else if try !searchIndex(settings: settings, pager: &pager) {
            // An index without the search API (a plain registry given as UDOCKER_INDEX): use the registry's catalog.
            try searchCatalog(of: settings.defaultRegistry, for: expression, prefix: "", settings: settings,
                              keystore: keystore, pager: &pager)
        }
    }

    /// Docker Hub's search API, page by page. False when the index has no such API.
    private func searchIndex(settings: RegistrySettings, pager: inout Pager) throws -> Bool {
        let search = try HubSearch(index: settings.index, settings: settings)
        var number = 1
        while true {
            guard let page = try search.page(expression, number: number, size: pager.pageSize) else { return number > 1 }
            guard pager.show(page.results), page.more else { return true }
            number += 1
        }
    }

    private func searchCatalog(of registry: String, for term: String, prefix: String, settings: RegistrySettings,
                               keystore: KeyStore, pager: inout Pager) throws {
        let client = try RegistryClient(registry: registry, settings: settings, credentials: try keystore.credential(for: registry))
        let names = try client.catalog().filter { term.isEmpty || $0.localizedCaseInsensitiveContains(term) }
        var rest = names.map { SearchResult(name: prefix + $0) }[...]
        while !rest.isEmpty, pager.show(Array(rest.prefix(pager.pageSize))) { rest = rest.dropFirst(pager.pageSize) }
    }
}

/// Prints search results in udocker's columns, a terminal page at a time, asking before the next page when
/// both standard input and output are terminals.
struct Pager {
    let pausing: Bool
    let truncating: Bool
    let pageSize: Int
    private var pages = 0

    init(pausing: Bool, truncating: Bool) {
        self.pausing = pausing && isatty(0) == 1 && isatty(1) == 1
        self.truncating = truncating
        var size = winsize()
        pageSize = ioctl(1, UInt(TIOCGWINSZ), &size) == 0 && size.ws_row > 4 ? Int(size.ws_row) - 2 : 22
    }

    /// Prints one page; returns false when the user asked to stop.
    mutating func show(_ results: [SearchResult]) -> Bool {
        if pages > 0 && pausing {
            Output.stderr("[return or q to quit]")
            if let answer = readLine(), ["q", "e"].contains(answer.lowercased()) { return false }
        }
        if pages == 0 && Log.isEnabled(.info) { Output.stdout(row("NAME", "OFFICIAL", "DESCRIPTION", "STARS")) }
        for result in results {
            Output.stdout(row(result.name, result.official ? "[OK]" : "----", result.description, result.stars.map(String.init) ?? ""))
        }
        pages += 1
        return true
    }

    /// udocker's "%-55.80s %8.8s %-70.70s %5.5s" (no maximum widths with --no-trunc).
    private func row(_ name: String, _ official: String, _ description: String, _ stars: String) -> String {
        func column(_ text: String, _ width: Int, max: Int, left: Bool = true) -> String {
            let cut = truncating ? String(text.prefix(max)) : text
            let fill = String(repeating: " ", count: Swift.max(0, width - cut.count))
            return left ? cut + fill : fill + cut
        }
        return column(name, 55, max: 80) + " " + column(official, 8, max: 8, left: false) + " "
            + column(description, 70, max: 70) + " " + column(stars, 5, max: 5, left: false) + "\n"
    }
}
