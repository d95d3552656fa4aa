import Foundation

/// Every HTTP call to one registry (and to the token server it sends us to) goes through here.
/// `request(_:)` runs an exchange on the calling thread; `BlobFetcher` runs several at once on a libcurl multi
/// handle. Both apply the same policy, `evaluate(_:_:)`:
///
/// - authentication: anonymous first; on 401 the `WWW-Authenticate` challenge is answered with Basic credentials
///   or a Bearer token fetched from its realm (cached per scope until it expires) and the request is sent again;
///   once a challenge is known, later requests carry the answer from the start;
/// - redirects (to blob storage) are followed, and the registry's Authorization is sent only to the registry's
///   own origin;
/// - 429, 5xx and transient transport errors are retried with exponential backoff (a blob resumes where it was);
/// - an explicit `http://` URL is used as written (udocker 1.3 and docker do), with a warning unless the registry
///   is on loopback; a bare host means https, and a registry that does not speak TLS is spoken to in plain HTTP
///   only under `--insecure`, with a warning.
public final class RegistryTransport {
    /// The registry's base URL, e.g. `https://registry-1.docker.io`; becomes `http://…` after an insecure fallback.
    public private(set) var baseURL: String
    public let options: TransferOptions
    /// `base64(user:password)`, as udocker's keystore holds it.
    let credentials: String?
    private var challenge: AuthChallenge?
    private var tokens = TokenCache()
    private let easy: CurlEasy

    static let maxFailures = 4
    static let maxRedirects = 10

    public init(baseURL: String, options: TransferOptions, credentials: String? = nil) throws {
        if let warning = Self.plainHTTPWarning(baseURL) { Log.warning(warning) }
        self.baseURL = baseURL
        self.options = options
        self.credentials = credentials
        easy = try CurlEasy()
    }

    public var host: String { URLParts.hostPort(baseURL) }

    /// What to tell the user about a registry URL that names plain HTTP: nothing for one on this machine.
    static func plainHTTPWarning(_ url: String) -> String? {
        guard url.lowercased().hasPrefix("http://"), !URLParts.isLoopback(url) else { return nil }
        return "\(URLParts.hostPort(url)) is spoken to in plain HTTP, as \(url) says: nothing sent or received is protected"
    }

    /// Runs one request to completion: auth, redirects and retries included. The body is kept in memory.
    /// A final non-2xx answer is returned (callers name what they asked for in the error), except a 401 that
    /// survived answering the challenge, which throws.
    public func request(_ request: HTTPRequest) throws -> HTTPResponse {
        let exchange = Exchange(request)
        while true {
            let delay = exchange.notBefore.timeIntervalSinceNow
            if delay > 0 { usleep(UInt32(delay * 1_000_000)) }
            easy.prepare(try attempt(for: exchange), options: options, sink: nil)
            if case .done(let response) = try evaluate(exchange, easy.perform()) { return response }
        }
    }

    // MARK: the policy shared by both drivers

    enum Step { case done(HTTPResponse), again }

    /// What the next attempt of `exchange` sends: its URL, headers, the Authorization for the registry's origin,
    /// and a Range when a blob resumes.
    func attempt(for exchange: Exchange) throws -> TransferAttempt {
        var headers = exchange.request.headers
        if exchange.request.authenticated, URLParts.origin(exchange.url) == URLParts.origin(baseURL),
           let authorization = try authorization(scope: exchange.request.scope) {
            headers.append("Authorization: " + authorization)
        }
        if let offset = exchange.sink?.resumeOffset, offset > 0 {
            headers.append("Range: bytes=\(offset)-")
            Log.debug("resuming \(exchange.request.url) at byte \(offset)")
        }
        return TransferAttempt(url: exchange.url, headers: headers, isDownload: exchange.request.isDownload)
    }

    /// Decides, from one attempt's result, whether the exchange is finished or goes again (and when).
    func evaluate(_ exchange: Exchange, _ result: TransferResult) throws -> Step {
        if let error = result.bodyError { throw error }
        if let failure = result.failure { return try recover(exchange, from: failure) }
        Log.debug("\(result.status) GET \(result.url)")
        switch result.status {
        case 301, 302, 303, 307, 308:
            guard let target = result.redirectURL else { break }
            exchange.redirects += 1
            guard exchange.redirects <= Self.maxRedirects else {
                throw UdockerError(.registry, "too many redirects from \(exchange.request.url)")
            }
            exchange.url = target
            return .again
        case 401 where exchange.request.authenticated:
            guard !exchange.answeredChallenge, let challenge = AuthChallenge.select(result.headers.all("WWW-Authenticate")) else {
                throw refused(exchange, result)
            }
            exchange.answeredChallenge = true
            try answer(challenge, scope: exchange.request.scope)
            exchange.url = exchange.request.url
            return .again
        case 429, 500...599:
            guard exchange.failures + 1 < Self.maxFailures else { break }
            let wait = Double(result.headers["Retry-After"] ?? "").map { min($0, 10) }
            Log.debug("\(host) answered \(result.status); trying again")
            exchange.retry(after: wait)
            return .again
        default: break
        }
        return .done(HTTPResponse(url: result.url, status: result.status, headers: result.headers, body: result.body))
    }

    private func recover(_ exchange: Exchange, from failure: TransportFailure) throws -> Step {
        let target = URLParts.hostPort(exchange.url)
        switch failure {
        case .tlsHandshake where options.insecure && exchange.url.hasPrefix("https://")
                && URLParts.origin(exchange.url) == URLParts.origin(baseURL):
            // As docker does for an insecure registry: it does not speak TLS, so speak plain HTTP to it.
            Log.warning("\(host) does not answer TLS; using plain HTTP (--insecure)")
            baseURL = "http://" + URLParts.withoutScheme(baseURL)
            exchange.url = "http://" + URLParts.withoutScheme(exchange.url)
            return .again
        case .certificate(let text):
            throw UdockerError(.network, "TLS certificate of \(target) is not trusted: \(text) (give its CA in SSL_CERT_FILE, or use --insecure)")
        case .tlsHandshake(let text):
            throw UdockerError(.network, "no TLS session with \(target): \(text) (for a plain HTTP registry write http://\(target), or use --insecure)")
        case .unreachable(let text):
            throw UdockerError(.network, "cannot connect to \(target): \(text)")
        case .transient(let text):
            guard exchange.failures + 1 < Self.maxFailures else {
                throw UdockerError(.network, "transfer from \(target) failed \(Self.maxFailures) times: \(text)")
            }
            Log.debug("transfer from \(target) failed (\(text)); trying again")
            exchange.retry(after: nil)
            return .again
        case .fatal(let text):
            throw UdockerError(.network, "request to \(exchange.url) failed: \(text)")
        }
    }

    // MARK: authentication

    /// The Authorization value for a request with `scope`, once the registry has said what it wants.
    private func authorization(scope: String?) throws -> String? {
        guard let challenge else { return nil }
        switch challenge.scheme {
        case .basic: return credentials.map { "Basic " + $0 }
        case .bearer: return "Bearer " + (try bearerToken(challenge, scope: scope))
        }
    }

    /// Takes in a 401's challenge so that the next attempt can answer it.
    private func answer(_ challenge: AuthChallenge, scope: String?) throws {
        self.challenge = challenge
        switch challenge.scheme {
        case .basic:
            guard credentials != nil else { throw needsLogin() }
        case .bearer:
            // The token we sent (if any) was not enough: get a fresh one (for the challenge's scope when the
            // request names none).
            tokens.forget(scope ?? "")
            _ = try bearerToken(challenge, scope: scope)
        }
    }

    private func bearerToken(_ challenge: AuthChallenge, scope: String?) throws -> String {
        let key = scope ?? ""
        if let token = tokens.token(for: key) { return token }
        guard let url = challenge.tokenURL(scope: scope) else {
            throw UdockerError(.authentication, "\(host) asks for a Bearer token but names no realm")
        }
        let headers = credentials.map { ["Authorization: Basic " + $0] } ?? []
        let response = try request(HTTPRequest(url: url, headers: headers, authenticated: false))
        if response.status == 401 || response.status == 403 {
            throw credentials == nil ? needsLogin() : UdockerError(.authentication,
                "\(URLParts.hostPort(url)) refused the credentials for \(baseURL)"
                + (RegistryErrorBody.summary(response.body).map { ": " + $0 } ?? ""))
        }
        try response.requireSuccess("token for \(scope ?? host)")
        let answer = try TokenResponse(response.body)
        tokens.store(answer.token, for: key, lifetime: answer.lifetime)
        Log.debug("token for \(scope ?? "(no scope)") valid \(Int(answer.lifetime)) s")
        return answer.token
    }

    /// Whether the registry asked for authentication at all (known after the first 401).
    var asksForAuthentication: Bool { challenge != nil }

    private func needsLogin() -> UdockerError {
        UdockerError(.authentication, "\(host) requires authentication: run udocker login --registry=\(baseURL)")
    }

    private func refused(_ exchange: Exchange, _ result: TransferResult) -> UdockerError {
        var message = "\(host) refused access"
        if let scope = exchange.request.scope { message += " to \(scope)" }
        message += " (HTTP 401"
        if let summary = RegistryErrorBody.summary(result.body) { message += ": " + summary }
        message += ")"
        if credentials == nil { message += "; not found, or private: run udocker login --registry=\(baseURL)" }
        return UdockerError(.authentication, message)
    }
}

/// One logical request across its attempts.
final class Exchange {
    let request: HTTPRequest
    /// Where the blob body goes; nil keeps the body in memory.
    let sink: BlobFile?
    var url: String
    var failures = 0
    var redirects = 0
    var answeredChallenge = false
    /// Backoff: the next attempt does not start before this.
    var notBefore = Date.distantPast

    init(_ request: HTTPRequest, sink: BlobFile? = nil) {
        self.request = request
        self.sink = sink
        url = request.url
    }

    /// Schedules another attempt from the original URL (a redirect target may have expired) after a backoff of
    /// 0.5 s, 1 s, 2 s… or what the server asked for.
    func retry(after seconds: Double?) {
        failures += 1
        redirects = 0
        url = request.url
        notBefore = Date().addingTimeInterval(seconds ?? 0.5 * Double(1 << (failures - 1)))
    }
}
