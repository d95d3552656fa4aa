/// Python 3 helpers the tests start on loopback (standard library and the openssl command only):
/// - `token PORT CERT KEY USER PASSWORD LOG`: a TLS token server for docker-registry's token auth. It checks Basic
///   credentials, signs RS256 JWTs with `openssl dgst -sign` and puts the certificate in the `x5c` header; every
///   token it issues is logged as "USER SCOPE".
/// - `proxy PORT LOG STALL_BYTES`: a forward HTTP proxy (absolute-URI requests) that logs each request with its
///   Range header and, the first time each blob larger than STALL_BYTES passes, stops sending after STALL_BYTES.
/// - `push REGISTRY REPOSITORY LAYOUT REF TAG`: pushes the OCI layout's REF (image or index) as TAG to a plain-HTTP
///   registry byte for byte, keeping uncompressed layers and index entries as they are (skopeo would rewrite them).
enum HelperScript {
    static let text = #"""
import base64, http.client, http.server, json, os, ssl, subprocess, sys, time, urllib.parse

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
    elif mode == "push":
        push(*args)
"""#
}
