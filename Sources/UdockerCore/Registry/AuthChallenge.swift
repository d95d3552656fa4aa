import Foundation

/// A `WWW-Authenticate` challenge: `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`.
public struct AuthChallenge: Equatable, Sendable {
    public enum Scheme: String, Sendable { case bearer, basic }

    public let scheme: Scheme
    public let parameters: [String: String]

    public var realm: String? { parameters["realm"] }
    public var service: String? { parameters["service"] }
    public var scope: String? { parameters["scope"] }
    public var error: String? { parameters["error"] }

    public init(scheme: Scheme, parameters: [String: String]) {
        self.scheme = scheme
        self.parameters = parameters
    }

    /// The challenge to answer among a response's `WWW-Authenticate` headers: Bearer before Basic;
    /// nil when none is of a known scheme.
    public static func select(_ headers: [String]) -> AuthChallenge? {
        let parsed = headers.compactMap(parse)
        return parsed.first { $0.scheme == .bearer } ?? parsed.first
    }

    /// Parses one header value. Parameter values may be quoted and contain commas (`scope="repository:a:pull,push"`).
    public static func parse(_ header: String) -> AuthChallenge? {
        let text = header.trimmingCharacters(in: .whitespaces)
        let schemeEnd = text.firstIndex(of: " ") ?? text.endIndex
        guard let scheme = Scheme(rawValue: text[..<schemeEnd].lowercased()) else { return nil }
        var parameters: [String: String] = [:]
        var rest = text[schemeEnd...]
        while true {
            rest = rest.drop { $0 == " " || $0 == "," }
            guard let equals = rest.firstIndex(of: "=") else { break }
            let key = rest[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            rest = rest[rest.index(after: equals)...]
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                while let character = rest.first, character != "\"" {
                    if character == "\\", let escaped = rest.dropFirst().first { value.append(escaped); rest = rest.dropFirst(2); continue }
                    value.append(character)
                    rest = rest.dropFirst()
                }
                rest = rest.dropFirst()
            } else {
                value = String(rest.prefix { $0 != "," }).trimmingCharacters(in: .whitespaces)
                rest = rest.drop { $0 != "," }
            }
            parameters[key] = value
        }
        return AuthChallenge(scheme: scheme, parameters: parameters)
    }

    /// The token endpoint URL for `scope`: realm plus URL-encoded `service` and `scope` query parameters.
    public func tokenURL(scope: String?) -> String? {
        guard let realm, !realm.isEmpty else { return nil }
        var query: [String] = []
        if let service { query.append("service=" + URLParts.queryValue(service)) }
        if let scope = scope ?? self.scope { query.append("scope=" + URLParts.queryValue(scope)) }
        guard !query.isEmpty else { return realm }
        return realm + (realm.contains("?") ? "&" : "?") + query.joined(separator: "&")
    }
}

/// Bearer tokens this process obtained, one per authorization scope, each kept until shortly before it expires.
struct TokenCache {
    private var tokens: [String: (token: String, expires: Date)] = [:]

    func token(for scope: String, now: Date = Date()) -> String? {
        guard let entry = tokens[scope], entry.expires > now else { return nil }
        return entry.token
    }

    /// Stores a token valid for `lifetime` seconds; a little is taken off so a token is not used as it expires.
    mutating func store(_ token: String, for scope: String, lifetime: Double, now: Date = Date()) {
        tokens[scope] = (token, now.addingTimeInterval(max(lifetime - 10, lifetime / 2)))
    }

    mutating func forget(_ scope: String) { tokens[scope] = nil }
}

/// A token server's answer: `{"token": …}` or `{"access_token": …}`, with `expires_in` seconds (60 by default,
/// as the distribution spec says).
struct TokenResponse {
    let token: String
    let lifetime: Double

    init(_ body: Data) throws {
        guard let json = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
              let token = (json["token"] as? String) ?? (json["access_token"] as? String), !token.isEmpty else {
            throw UdockerError(.authentication, "the token server's answer holds no token")
        }
        self.token = token
        lifetime = (json["expires_in"] as? NSNumber)?.doubleValue ?? 60
    }
}
