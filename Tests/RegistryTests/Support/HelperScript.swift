/// Python 3 helpers the tests start on loopback (standard library and the openssl command only):
/// - `token PORT CERT KEY USER PASSWORD LOG`: a TLS token server for docker-registry's token auth. It checks Basic
///   credentials, signs RS256 JWTs with `openssl dgst -sign` and puts the certificate in the `x5c` header; every
///   token it issues is logged as "USER SCOPE".
/// - `proxy PORT LOG STALL_BYTES`: a forward HTTP proxy (absolute-URI requests) that logs each request with its
///   Range header and, the first time each blob larger than STALL_BYTES passes, stops sending after STALL_BYTES.
/// - `redirect FRONT_PORT STORAGE_PORT REGISTRY USER PASSWORD LOG`: a registry front with Basic auth that forwards to
///   REGISTRY but answers blob requests with a 307 to a "storage" port of its own, which logs whether the request
///   carried an Authorization header.
/// - `index PORT`: a Docker Hub search API (`/v2/search/repositories`) over a fixed list, two results a page.
/// - `push REGISTRY REPOSITORY LAYOUT REF TAG`: pushes the OCI layout's REF (image or index) as TAG to a plain-HTTP
///   registry byte for byte, keeping uncompressed layers and index entries as they are (skopeo would rewrite them).
enum HelperScript {
    static let text = #"""
import base64, http.client, http.server, json, os, ssl, subprocess, sys, threading, time, urllib.parse

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

def token_server(port, cert, key, user, password, log):
    with open(cert) as f:
        x5c = base64.b64encode(ssl.PEM_cert_to_DER_cert(f.read())).decode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            scope = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query).get("scope", [""])[0]
            auth, who = self.headers.get("Authorization", ""), ""
            if auth.startswith("Basic "):
                if base64.b64decode(auth[6:]).decode() != user + ":" + password:
                    return self.answer(401, {"details": "incorrect username or password"})
                who = user
            with open(log, "a") as f:
                f.write("%s %s\n" % (who or "-", scope or "-"))
            access = []
            if who and scope:
                kind, name, actions = scope.split(":")
                access = [{"type": kind, "name": name, "actions": actions.split(",")}]
            now = int(time.time())
            header = {"typ": "JWT", "alg": "RS256", "x5c": [x5c]}
            claims = {"iss": "udocker-test-issuer", "sub": who, "aud": "udocker-test", "exp": now + 300,
                      "nbf": now - 10, "iat": now, "jti": os.urandom(8).hex(), "access": access}
            signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
            signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signing_input.encode(),
                                       capture_output=True, check=True).stdout
            self.answer(200, {"token": signing_input + "." + b64url(signature), "expires_in": 300})

        def answer(self, status, document):
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()

def proxy(port, log, stall_bytes):
    stalled = set()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            with open(log, "a") as f:
                f.write("GET %s range=%s\n" % (url.path, self.headers.get("Range", "-")))
            upstream = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "proxy-connection", "connection")}
            upstream.request("GET", url.path + ("?" + url.query if url.query else ""), headers=headers)
            response = upstream.getresponse()
            length = int(response.getheader("Content-Length", "-1"))
            stall = "/blobs/" in url.path and response.status == 200 and length > stall_bytes and url.path not in stalled
            self.send_response(response.status)
            for k, v in response.getheaders():
                if k.lower() not in ("connection", "transfer-encoding"):
                    self.send_header(k, v)
            if length < 0:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            sent = 0
            while True:
                chunk = response.read(65536)
                if not chunk:
                    break
                if stall and sent + len(chunk) > stall_bytes:
                    self.wfile.write(chunk[:stall_bytes - sent])
                    self.wfile.flush()
                    stalled.add(url.path)
                    time.sleep(600)
                    return
                self.wfile.write(chunk)
                sent += len(chunk)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()

def serve(port, handler):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    return server

class Answering(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, body=b"", headers={}):
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

def redirect(front_port, storage_port, registry, user, password, log):
    upstream = urllib.parse.urlsplit(registry).netloc

    def forward(handler):
        connection = http.client.HTTPConnection(upstream, timeout=30)
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in ("host", "authorization", "connection")}
        connection.request("GET", handler.path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        handler.answer(response.status, body, {k: v for k, v in response.getheaders()
                                               if k.lower() not in ("connection", "transfer-encoding", "content-length")})

    class Front(Answering):
        def do_GET(self):
            expected = "Basic " + base64.b64encode((user + ":" + password).encode()).decode()
            if self.headers.get("Authorization") != expected:
                return self.answer(401, b"", {"WWW-Authenticate": 'Basic realm="front"'})
            if "/blobs/" in self.path:
                return self.answer(307, b"", {"Location": "http://127.0.0.1:%d%s" % (storage_port, self.path)})
            forward(self)

    class Storage(Answering):
        def do_GET(self):
            with open(log, "a") as f:
                f.write("%s authorization=%s\n" % (self.path, "yes" if "Authorization" in self.headers else "no"))
            forward(self)

    storage = serve(storage_port, Storage)
    threading.Thread(target=storage.serve_forever, daemon=True).start()
    serve(front_port, Front).serve_forever()

def index(port):
    names = ["library/busybox", "someone/busybox-tools", "other/busyboxplus", "library/alpine", "x/busybox-extra"]

    class Index(Answering):
        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            if url.path != "/v2/search/repositories":
                return self.answer(404, b'{"message": "not found"}')
            query = urllib.parse.parse_qs(url.query)
            found = [n for n in names if query["query"][0] in n]
            page = int(query.get("page", ["1"])[0])
            results = [{"repo_name": n, "short_description": "about " + n + "\nmore", "star_count": i,
                        "is_official": n.startswith("library/")} for i, n in enumerate(found)][2 * page - 2:2 * page]
            more = "http://127.0.0.1:%d/next" % port if 2 * page < len(found) else None
            self.answer(200, json.dumps({"count": len(found), "next": more, "results": results}).encode())

    serve(port, Index).serve_forever()

def push(registry, repository, layout, ref, tag):
    host = urllib.parse.urlsplit(registry).netloc

    def request(method, path, body=None, headers={}):
        connection = http.client.HTTPConnection(host, timeout=30)
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response

    def blob(digest):
        with open(os.path.join(layout, "blobs", "sha256", digest.split(":")[1]), "rb") as f:
            return f.read()

    def push_blob(digest):
        if request("HEAD", "/v2/%s/blobs/%s" % (repository, digest)).status == 200:
            return
        location = request("POST", "/v2/%s/blobs/uploads/" % repository).getheader("Location")
        location = urllib.parse.urlsplit(location)
        target = location.path + "?" + (location.query + "&" if location.query else "") + "digest=" + digest
        response = request("PUT", target, blob(digest), {"Content-Type": "application/octet-stream"})
        if response.status != 201:
            sys.exit("blob %s: HTTP %d" % (digest, response.status))

    def push_manifest(descriptor, reference):
        data = blob(descriptor["digest"])
        document = json.loads(data)
        if "manifests" in document:
            for entry in document["manifests"]:
                push_manifest(entry, entry["digest"])
        else:
            for entry in [document["config"]] + document["layers"]:
                push_blob(entry["digest"])
        response = request("PUT", "/v2/%s/manifests/%s" % (repository, reference), data,
                           {"Content-Type": descriptor["mediaType"]})
        if response.status != 201:
            sys.exit("manifest %s: HTTP %d" % (reference, response.status))

    with open(os.path.join(layout, "index.json")) as f:
        index = json.load(f)
    for descriptor in index["manifests"]:
        if descriptor.get("annotations", {}).get("org.opencontainers.image.ref.name") == ref:
            return push_manifest(descriptor, tag)
    sys.exit("no %s in %s" % (ref, layout))

if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "token":
        token_server(int(args[0]), args[1], args[2], args[3], args[4], args[5])
    elif mode == "proxy":
        proxy(int(args[0]), args[1], int(args[2]))
    elif mode == "redirect":
        redirect(int(args[0]), int(args[1]), args[2], args[3], args[4], args[5])
    elif mode == "index":
        index(int(args[0]))
    elif mode == "push":
        push(*args)
"""#
}
