import CCurl
import Foundation

/// How every transfer is set up: TLS, proxy and timeouts, from udocker's configuration and the command line.
public struct TransferOptions: Sendable {
    /// Unverified TLS and plain HTTP registries (`--insecure`, `http_insecure`).
    public var insecure = false
    /// Explicit proxy (`--httpproxy`, `http_proxy` in udocker.conf); otherwise libcurl reads the usual
    /// `https_proxy`/`http_proxy`/`all_proxy`/`no_proxy` environment variables itself.
    public var proxy: String?
    /// CA bundle and directory (`SSL_CERT_FILE`/`CURL_CA_BUNDLE`, `SSL_CERT_DIR`); nil uses the system store.
    public var caFile: String?
    public var caPath: String?
    public var connectTimeout = 6
    /// Whole-transfer limit for API calls (manifests, tokens, tag lists).
    public var timeout = 12
    /// Whole-transfer limit for one blob.
    public var downloadTimeout = 1800
    public var userAgent = "udocker"

    public init() {}
}

/// What one attempt of an exchange sends.
struct TransferAttempt {
    var url: String
    var headers: [String]
    var isDownload: Bool
}

/// Why an attempt got no HTTP response at all.
enum TransportFailure: Equatable {
    case certificate(String)     // the server's certificate is not trusted
    case tlsHandshake(String)    // no TLS session, e.g. TLS spoken to a plain-HTTP server
    case unreachable(String)     // name not resolved, connection refused: the registry is not there
    case transient(String)       // timeout, reset, truncated transfer: worth another attempt
    case fatal(String)           // bad URL, unsupported scheme

    var text: String {
        switch self {
        case .certificate(let t), .tlsHandshake(let t), .unreachable(let t), .transient(let t), .fatal(let t): return t
        }
    }
}

/// The outcome of one attempt, copied out of the handle so the handle can be reused at once.
struct TransferResult {
    let url: String
    let failure: TransportFailure?
    let status: Int
    let headers: HTTPHeaders
    let body: Data
    let redirectURL: String?
    /// Set when the body was refused (a blob over its size, a full disk, an oversized answer): the transfer was aborted.
    let bodyError: (any Error)?
}

/// Receives the body of a successful response (a blob streaming into its partial file). Bodies the sink does
/// not take (errors, redirects) are kept in memory for the error message.
protocol ResponseBodySink: AnyObject {
    /// Called once the headers are complete; returns whether this response's body is for the sink.
    func begin(status: Int, headers: HTTPHeaders) throws -> Bool
    func write(_ bytes: UnsafeRawBufferPointer) throws
}

/// libcurl, loaded and initialised once per process before the first handle (see OnDemandLibrary).
enum CurlRuntime {
    static func load() throws { if let failure { throw failure } }

    private static let failure: UdockerError? =
        OnDemandLibrary.load("libcurl.so.4", neededFor: "talking to a registry", install: "libcurl 4 (Debian: libcurl4)", ud_curl_load)
        ?? (curl_global_init(Int(CURL_GLOBAL_ALL)) == CURLE_OK ? nil : UdockerError(.internalError, "cannot initialise libcurl"))
}

/// One libcurl easy handle. Reused across attempts (curl_easy_reset keeps its connection cache), and driven
/// either by `perform()` or by a `CurlMulti`.
final class CurlEasy {
    let handle: UnsafeMutableRawPointer
    private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))
    private var headerList: UnsafeMutablePointer<curl_slist>?

    private var url = ""
    private var status = 0
    private var headers = HTTPHeaders()
    private var body = Data()
    private var sink: ResponseBodySink?
    private var sinkTakesBody: Bool?
    private var bodyError: (any Error)?
    /// Bodies not taken by a sink are error documents or API answers; anything larger is not a registry's.
    private static let bodyLimit = 64 << 20

    init() throws {
        try CurlRuntime.load()
        guard let handle = curl_easy_init() else {
            throw UdockerError(.internalError, "cannot initialise libcurl")
        }
        self.handle = handle
    }

    deinit {
        curl_easy_cleanup(handle)
        curl_slist_free_all(headerList)
        errorBuffer.deallocate()
    }

    func prepare(_ attempt: TransferAttempt, options: TransferOptions, sink: ResponseBodySink?) {
        curl_easy_reset(handle)
        curl_slist_free_all(headerList)
        headerList = nil
        url = attempt.url
        status = 0
        headers = HTTPHeaders()
        body = Data()
        self.sink = sink
        sinkTakesBody = nil
        bodyError = nil
        errorBuffer[0] = 0

        let me = Unmanaged.passUnretained(self).toOpaque()
        ud_curl_setopt_str(handle, CURLOPT_URL, attempt.url)
        ud_curl_setopt_str(handle, CURLOPT_PROTOCOLS_STR, "http,https")
        ud_curl_setopt_long(handle, CURLOPT_HTTPGET, 1)
        ud_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0)   // redirects are followed by the exchange policy
        ud_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        ud_curl_setopt_long(handle, CURLOPT_TCP_KEEPALIVE, 1)
        ud_curl_setopt_ptr(handle, CURLOPT_ERRORBUFFER, errorBuffer)
        ud_curl_setopt_write(handle, curlWriteCallback)
        ud_curl_setopt_ptr(handle, CURLOPT_WRITEDATA, me)
        ud_curl_setopt_header(handle, curlHeaderCallback)
        ud_curl_setopt_ptr(handle, CURLOPT_HEADERDATA, me)
        ud_curl_setopt_str(handle, CURLOPT_USERAGENT, options.userAgent)
        ud_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT, options.connectTimeout)
        if attempt.isDownload {
            ud_curl_setopt_long(handle, CURLOPT_TIMEOUT, options.downloadTimeout)
            // A stalled blob fails after a minute without data instead of waiting for the whole-transfer limit.
            ud_curl_setopt_long(handle, CURLOPT_LOW_SPEED_LIMIT, 1)
            ud_curl_setopt_long(handle, CURLOPT_LOW_SPEED_TIME, 60)
            ud_curl_setopt_long(handle, CURLOPT_BUFFERSIZE, 512 << 10)
        } else {
            ud_curl_setopt_long(handle, CURLOPT_TIMEOUT, options.timeout)
        }
        if options.insecure {
            ud_curl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 0)
            ud_curl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 0)
        }
        if let caFile = options.caFile { ud_curl_setopt_str(handle, CURLOPT_CAINFO, caFile) }
        if let caPath = options.caPath { ud_curl_setopt_str(handle, CURLOPT_CAPATH, caPath) }
        if let proxy = options.proxy { ud_curl_setopt_str(handle, CURLOPT_PROXY, proxy) }
        for header in attempt.headers { headerList = curl_slist_append(headerList, header) }
        if let headerList { ud_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList) }
    }

    func perform() -> TransferResult { finish(curl_easy_perform(handle)) }

    /// Collects the outcome once libcurl has finished the transfer with `code`.
    func finish(_ code: CURLcode) -> TransferResult {
        var responseCode = 0
        ud_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &responseCode)
        var redirect: UnsafeMutablePointer<CChar>?
        ud_curl_getinfo_str(handle, CURLINFO_REDIRECT_URL, &redirect)
        if code == CURLE_OK, sinkTakesBody == nil, let sink, bodyError == nil {
            // An empty body never reached the write callback: the sink still has to see the response.
            do { sinkTakesBody = try sink.begin(status: responseCode, headers: headers) } catch { bodyError = error }
        }
        let failure: TransportFailure? = code == CURLE_OK || bodyError != nil ? nil : Self.classify(code, errorText(code))
        let result = TransferResult(url: url, failure: failure, status: Int(responseCode), headers: headers, body: body,
                                    redirectURL: redirect.map { String(cString: $0) }, bodyError: bodyError)
        sink = nil
        return result
    }

    private func errorText(_ code: CURLcode) -> String {
        errorBuffer[0] != 0 ? String(cString: errorBuffer) : String(cString: curl_easy_strerror(code))
    }

    private static func classify(_ code: CURLcode, _ text: String) -> TransportFailure {
        switch code {
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR,
             CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_PINNEDPUBKEYNOTMATCH:
            return .certificate(text)
        case CURLE_SSL_CONNECT_ERROR: return .tlsHandshake(text)
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_CONNECT: return .unreachable(text)
        case CURLE_OPERATION_TIMEDOUT, CURLE_PARTIAL_FILE, CURLE_GOT_NOTHING, CURLE_SEND_ERROR, CURLE_RECV_ERROR,
             CURLE_HTTP2, CURLE_HTTP2_STREAM:
            return .transient(text)
        default: return .fatal(text)
        }
    }

    // MARK: callbacks

    fileprivate func receiveHeader(_ line: String) {
        let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("HTTP/") {
            // A new response block (after a proxy's CONNECT answer or a 100 Continue): start over.
            headers = HTTPHeaders()
            status = Int(trimmed.split(separator: " ").dropFirst().first ?? "") ?? 0
        } else if let colon = trimmed.firstIndex(of: ":") {
            headers.append(String(trimmed[..<colon]), trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
    }

    fileprivate func receiveBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        do {
            if sinkTakesBody == nil { sinkTakesBody = try sink?.begin(status: status, headers: headers) ?? false }
            if sinkTakesBody == true {
                try sink?.write(bytes)
            } else {
                guard body.count + bytes.count <= Self.bodyLimit else {
                    throw UdockerError(.registry, "\(URLParts.hostPort(url)) sent more than \(Self.bodyLimit >> 20) MiB for \(url)")
                }
                body.append(contentsOf: bytes)
            }
            return true
        } catch {
            bodyError = error
            return false
        }
    }
}

private let curlWriteCallback: ud_curl_data_cb = { pointer, size, count, userdata in
    let easy = Unmanaged<CurlEasy>.fromOpaque(userdata!).takeUnretainedValue()
    return easy.receiveBody(UnsafeRawBufferPointer(start: pointer, count: size * count)) ? size * count : 0
}

private let curlHeaderCallback: ud_curl_data_cb = { pointer, size, count, userdata in
    let easy = Unmanaged<CurlEasy>.fromOpaque(userdata!).takeUnretainedValue()
    let bytes = UnsafeRawBufferPointer(start: pointer, count: size * count)
    easy.receiveHeader(String(decoding: bytes, as: UTF8.self))
    return size * count
}
