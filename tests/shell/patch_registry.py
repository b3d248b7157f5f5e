#!/usr/bin/env python3
"""Helpers of patch_registry.sh; loopback only.
  patch_registry.py push URL REPO:TAG SPEC [USER:PASSWORD]
      pushes an image to the registry at URL (http://127.0.0.1:PORT) by hand, through the OCI
      distribution API: SPEC is a JSON list of {"arch", "entrypoint", "cmd"}; one element gives
      a Docker v2 manifest, several an OCI index (plus an attestation-like unknown/unknown entry).
      Prints the digest of what the tag points to.
  patch_registry.py front PORTFILE UPSTREAM
      a registry front that wants a Bearer token (as Docker Hub does) and proxies to UPSTREAM;
      /token refuses scopes of repositories named deny*; /v2/big/... answers 5 MiB, /v2/garbage/...
      a 200 that is not JSON. Writes its port to PORTFILE."""
import base64
import gzip
import hashlib
import http.server
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
TOKEN = "t0k3n"


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def request(method, url, data=None, headers=None, auth=None):
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    return OPENER.open(req, timeout=30)


def push_blob(base, repo, data, auth):
    with request("POST", f"{base}/v2/{repo}/blobs/uploads/", b"", auth=auth) as r:
        location = urllib.parse.urljoin(base, r.headers["Location"])
    sep = "&" if "?" in location else "?"
    with request("PUT", f"{location}{sep}digest={digest(data)}", data,
                 {"Content-Type": "application/octet-stream"}, auth):
        pass
    return {"size": len(data), "digest": digest(data)}


def push_manifest(base, repo, ref, doc, auth):
    data = json.dumps(doc).encode()
    with request("PUT", f"{base}/v2/{repo}/manifests/{ref}", data, {"Content-Type": doc["mediaType"]}, auth):
        pass
    return {"mediaType": doc["mediaType"], "size": len(data), "digest": digest(data)}


def push(base, image, spec, auth=None):
    repo, tag = image.rsplit(":", 1)
    layer = gzip.compress(b"\0" * 1024, mtime=0)  # an empty tar
    oci = len(spec) > 1
    manifests = []
    for s in spec:
        config = {"architecture": s["arch"], "os": "linux",
                  "config": {"Entrypoint": s.get("entrypoint"), "Cmd": s.get("cmd"), "Env": ["PATH=/bin"]},
                  "rootfs": {"type": "layers", "diff_ids": [digest(gzip.decompress(layer))]}}
        c = push_blob(base, repo, json.dumps(config).encode(), auth)
        l = push_blob(base, repo, layer, auth)
        if oci:
            doc = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                   "config": dict(c, mediaType="application/vnd.oci.image.config.v1+json"),
                   "layers": [dict(l, mediaType="application/vnd.oci.image.layer.v1.tar+gzip")]}
            d = push_manifest(base, repo, digest(json.dumps(doc).encode()), doc, auth)
            manifests.append(dict(d, platform={"architecture": s["arch"], "os": "linux"}))
        else:
            doc = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                   "config": dict(c, mediaType="application/vnd.docker.container.image.v1+json"),
                   "layers": [dict(l, mediaType="application/vnd.docker.image.rootfs.diff.tar.gzip")]}
            print(push_manifest(base, repo, tag, doc, auth)["digest"])
            return
    # An attestation manifest as BuildKit adds them: platform unknown/unknown.
    manifests.append(dict(manifests[0], platform={"architecture": "unknown", "os": "unknown"}))
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests}
    print(push_manifest(base, repo, tag, index, auth)["digest"])


class Front(http.server.BaseHTTPRequestHandler):
    upstream = ""

    def log_message(self, *args):
        pass

    def reply(self, status, body, ctype="application/json", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/token":
            scope = urllib.parse.parse_qs(url.query).get("scope", [""])[0]
            if scope.startswith("repository:deny"):
                return self.reply(401, b'{"errors": [{"code": "UNAUTHORIZED", "message": "access denied"}]}')
            return self.reply(200, json.dumps({"token": TOKEN}).encode())
        parts = url.path.split("/")  # '', 'v2', REPO..., 'manifests'|'blobs', REF
        if url.path.startswith("/v2/big/"):
            return self.reply(200, b"x" * (5 << 20))
        if url.path.startswith("/v2/garbage/"):
            return self.reply(200, b"<html>not a registry</html>", "text/html")
        if self.headers.get("Authorization") != "Bearer " + TOKEN:
            repo = "/".join(parts[2:-2])
            realm = f"http://127.0.0.1:{self.server.server_port}/token"
            challenge = f'Bearer realm="{realm}",service="vigil-test",scope="repository:{repo}:pull"'
            return self.reply(401, b'{"errors": [{"code": "UNAUTHORIZED", "message": "token needed"}]}',
                              headers=[("WWW-Authenticate", challenge)])
        try:
            with request("GET", self.upstream + self.path, headers={"Accept": self.headers.get("Accept", "*/*")}) as r:
                self.reply(r.status, r.read(), r.headers.get("Content-Type", ""))
        except urllib.error.HTTPError as e:
            self.reply(e.code, e.read(), e.headers.get("Content-Type", ""))


def main():
    if sys.argv[1] == "push":
        push(sys.argv[2], sys.argv[3], json.loads(sys.argv[4]), sys.argv[5] if len(sys.argv) > 5 else None)
    elif sys.argv[1] == "front":
        Front.upstream = sys.argv[3]
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Front)
        with open(sys.argv[2] + ".tmp", "w") as f:
            f.write(str(server.server_port))
        import os
        os.rename(sys.argv[2] + ".tmp", sys.argv[2])
        server.serve_forever()


if __name__ == "__main__":
    main()
