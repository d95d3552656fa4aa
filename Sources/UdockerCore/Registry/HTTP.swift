import Foundation

/// Response headers in arrival order. Names compare case-insensitively; a name may repeat (WWW-Authenticate).
public struct HTTPHeaders: Sendable {
    public private(set) var fields: [(name: String, value: String)] = []

    public init(_ fields: [(String, String)] = []) { self.fields = fields.map { (name: $0.0, value: $0.1) } }

    mutating func append(_ name: String, _ value: String) { fields.append((name, value)) }

    public subscript(name: String) -> String? { all(name).last }

    public func all(_ name: String) -> [String] {
        fields.filter { $0.name.caseInsensitiveCompare(name) == .orderedSame }.map(\.value)
    }
}

/// One logical GET to a registry, token server or index. `scope` names the registry authorization it needs
/// (`repository:NAME:pull`, `registry:catalog:*`); a request without `authenticated` never carries the
/// registry's credentials (token realms, the Docker Hub search API).
public struct HTTPRequest: Sendable {
    public var url: String
    public var headers: [String]
    public var scope: String?
    public var authenticated: Bool
    /// Whether the transfer may run as long as `download_timeout` allows rather than the short API `timeout`.
    public var isDownload: Bool

    public init(url: String, headers: [String] = [], scope: String? = nil, authenticated: Bool = true,
                isDownload: Bool = false) {
        self.url = url
        self.headers = headers
        self.scope = scope
        self.authenticated = authenticated
        self.isDownload = isDownload
    }
}

public struct HTTPResponse: Sendable {
    public let url: String
    public let status: Int
    public let headers: HTTPHeaders
    /// The body, unless a sink (a blob file) took it.
    public let body: Data

    public var isSuccess: Bool { (200..<300).contains(status) }

    /// Throws a one-line error naming what was asked, the status and the registry's own error codes.
    @discardableResult
    public func requireSuccess(_ what: String) throws -> HTTPResponse {
        guard !isSuccess else { return self }
        throw RegistryErrorBody.error(for: self, what: what)
    }
}

/// The OCI distribution error document, `{"errors":[{"code":…,"message":…,"detail":…}]}`.
public enum RegistryErrorBody {
    /// `CODE: message` for each error in the body, or nil when the body is not such a document.
    public static func summary(_ body: Data) -> String? {
        guard let json = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else { return nil }
        if let errors = json["errors"] as? [[String: Any]], !errors.isEmpty {
            return errors.map { error in
                let code = error["code"] as? String ?? "ERROR"
                let message = error["message"] as? String ?? ""
                return message.isEmpty ? code : "\(code): \(message)"
            }.joined(separator: "; ")
        }
        // Token servers and the Docker Hub API answer {"details": …} or {"message": …}.
        return (json["details"] as? String) ?? (json["message"] as? String) ?? (json["error"] as? String)
    }

    static func error(for response: HTTPResponse, what: String) -> UdockerError {
        let code: UdockerError.Code
        switch response.status {
        case 401, 403: code = .authentication
        case 404: code = .notFound
        default: code = .registry
        }
        var message = "\(what): \(URLParts.hostPort(response.url)) answered HTTP \(response.status)"
        if let summary = summary(response.body) { message += ": " + summary }
        return UdockerError(code, message.replacingOccurrences(of: "\n", with: " "))
    }
}

/// Small helpers on URL strings; registry URLs are plain `scheme://host[:port][/path]`.
public enum URLParts {
    /// `scheme://host:port` with the default port made explicit, lower-cased: two URLs with the same origin may
    /// share credentials.
    public static func origin(_ url: String) -> String {
        guard let parts = URLComponents(string: url), let scheme = parts.scheme?.lowercased(),
              let host = parts.host?.lowercased() else { return url }
        let port = parts.port ?? (scheme == "https" ? 443 : scheme == "http" ? 80 : 0)
        return "\(scheme)://\(host):\(port)"
    }

    /// `host[:port]` as written, for messages.
    public static func hostPort(_ url: String) -> String {
        let rest = url.range(of: "://").map { String(url[$0.upperBound...]) } ?? url
        return String(rest.prefix { $0 != "/" })
    }

    /// A registry or index URL as udocker keeps it: a scheme (https:// when none was given), no trailing slash.
    public static func normalized(_ url: String) -> String {
        var text = url.contains("://") ? url : "https://" + url
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }

    /// Whether the URL's host is this machine by its literal name: `localhost`, 127.0.0.0/8 or ::1 (no lookup).
    public static func isLoopback(_ url: String) -> Bool {
        guard let host = URLComponents(string: url)?.host?.lowercased() else { return false }
        if host == "localhost" || host.hasSuffix(".localhost") || host == "::1" || host == "[::1]" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    public static func withoutScheme(_ url: String) -> String {
        url.range(of: "://").map { String(url[$0.upperBound...]) } ?? url
    }

    /// Percent-encodes a query value (everything but RFC 3986's unreserved characters).
    public static func queryValue(_ text: String) -> String {
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
