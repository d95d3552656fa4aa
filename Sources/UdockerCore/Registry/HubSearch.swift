import Foundation

/// One line of `search` output.
public struct SearchResult: Sendable, Equatable {
    public let name: String
    public let official: Bool
    public let description: String
    public let stars: Int?

    public init(name: String, official: Bool = false, description: String = "", stars: Int? = nil) {
        self.name = name
        self.official = official
        self.description = description
        self.stars = stars
    }
}

/// The Docker Hub search API (`/v2/search/repositories`) on the index URL.
public final class HubSearch {
    private let transport: RegistryTransport

    public init(index: String, settings: RegistrySettings) throws {
        transport = try RegistryTransport(baseURL: index, options: settings.transfer)
    }

    /// One page of results (pages count from 1) and whether more follow. Nil when the index has no search API,
    /// so the caller can search a registry's catalog instead.
    public func page(_ expression: String, number: Int, size: Int) throws -> (results: [SearchResult], more: Bool)? {
        let query = URLParts.queryValue(expression.isEmpty ? "*" : expression)
        let url = transport.baseURL + "/v2/search/repositories?query=\(query)&page_size=\(size)&page=\(number)"
        let response = try transport.request(HTTPRequest(url: url, authenticated: false))
        if response.status == 404 { return nil }
        try response.requireSuccess("search on \(transport.host)")
        guard let json = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any],
              let results = json["results"] as? [[String: Any]] else {
            throw UdockerError(.registry, "search on \(transport.host): the answer is not a search result")
        }
        let parsed = results.map { entry in
            SearchResult(name: (entry["repo_name"] as? String) ?? (entry["name"] as? String) ?? "",
                         official: entry["is_official"] as? Bool ?? false,
                         description: ((entry["short_description"] as? String) ?? (entry["description"] as? String) ?? "")
                            .split(separator: "\n").first.map(String.init) ?? "",
                         stars: (entry["star_count"] as? NSNumber)?.intValue)
        }
        let more = (json["next"] as? String).map { !$0.isEmpty } ?? false
        return (parsed, more)
    }
}
