import Foundation

/// The registry HTTP API v2 / OCI distribution endpoints udocker uses, over one `RegistryTransport`.
public final class RegistryClient {
    public let transport: RegistryTransport
    let settings: RegistrySettings

    public init(registry: String, settings: RegistrySettings, credentials: String?) throws {
        self.settings = settings
        transport = try RegistryTransport(baseURL: registry, options: settings.transfer, credentials: credentials)
    }

    /// A client for the registry `image` lives on, with the credentials the keystore holds for it.
    public convenience init(for image: RemoteImage, settings: RegistrySettings, keystore: KeyStore) throws {
        try self.init(registry: image.registry, settings: settings, credentials: try keystore.credential(for: image.registry))
    }

    private func url(_ path: String) -> String { transport.baseURL + "/v2/" + path }

    /// The manifest or index for `reference` (a tag or a digest). A digest reference is checked against the
    /// bytes received.
    public func manifest(_ repository: String, _ reference: String) throws -> RemoteManifest {
        let accept = "Accept: " + MediaType.acceptedManifests.joined(separator: ", ")
        let response = try transport.request(HTTPRequest(url: url("\(repository)/manifests/\(reference)"), headers: [accept],
                                                         scope: "repository:\(repository):pull"))
        try response.requireSuccess("manifest \(repository):\(reference)")
        let manifest = try RemoteManifest(data: response.body, contentType: response.headers["Content-Type"])
        if reference.hasPrefix("sha256:"), manifest.digest != reference {
            throw UdockerError(.digestMismatch, "manifest \(repository)@\(reference) arrived with digest \(manifest.digest)")
        }
        return manifest
    }

    func blobRequest(_ repository: String, _ digest: String) -> HTTPRequest {
        HTTPRequest(url: url("\(repository)/blobs/\(digest)"), scope: "repository:\(repository):pull", isDownload: true)
    }

    /// Every tag of a repository, following `Link` pagination.
    public func tags(_ repository: String) throws -> [String] {
        try paginated(url("\(repository)/tags/list?n=1000"), scope: "repository:\(repository):pull", key: "tags",
                      what: "tags of \(repository)")
    }

    /// Every repository name the registry's catalog lists.
    public func catalog() throws -> [String] {
        try paginated(url("_catalog?n=1000"), scope: "registry:catalog:*", key: "repositories",
                      what: "catalog of \(transport.host)")
    }

    private func paginated(_ first: String, scope: String, key: String, what: String) throws -> [String] {
        var names: [String] = []
        var next: String? = first
        while let page = next {
            let response = try transport.request(HTTPRequest(url: page, scope: scope)).requireSuccess(what)
            guard let json = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any] else {
                throw UdockerError(.registry, "\(what): the answer is not JSON")
            }
            names += json[key] as? [String] ?? []
            next = response.headers["Link"].flatMap(Self.nextPage).map { transport.baseURL + $0 }
        }
        return names
    }

    /// The target of `Link: </v2/_catalog?last=x&n=100>; rel="next"`.
    static func nextPage(_ link: String) -> String? {
        guard link.contains("rel=\"next\""), let open = link.firstIndex(of: "<"), let close = link.firstIndex(of: ">"),
              open < close else { return nil }
        return String(link[link.index(after: open)..<close])
    }

    /// For `login`: asks the registry's /v2/ with the credentials. Returns false when the registry wants none.
    /// Wrong credentials throw an authentication error.
    public func checkCredentials() throws -> Bool {
        try transport.request(HTTPRequest(url: url(""))).requireSuccess("login to \(transport.host)")
        return transport.asksForAuthentication
    }
}
