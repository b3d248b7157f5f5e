#!/usr/bin/env python3
"""Loopback test server for the sinks tests (127.0.0.1 only, bounded lifetime).

POST: appends the body to --out (fsync'ed before answering) and one JSON line
per request to --requests (path, content type, line count, authorization).
--fluentbit BYTES: behaves like Fluent Bit's http input (plugins/in_http):
      a Content-Type other than application/json gets 400, a body larger than
      BYTES (its buffer_max_size, 4M by default) gets the connection closed
      without any status line, a body that is not a sequence of JSON objects
      gets 400, else 201 Created.
GET:  serves the ECS task metadata fixture --ecs (".../task" -> the task
document, anything else -> the container document).
"""
import argparse, http.server, json, os, ssl, sys, threading, time

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, default=0)
ap.add_argument("--port-file", required=True)
ap.add_argument("--out", default=os.devnull)
ap.add_argument("--requests", default=os.devnull)
ap.add_argument("--delay", type=float, default=0.0, help="seconds to wait before answering a POST")
ap.add_argument("--status", type=int, default=200)
ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
ap.add_argument("--ecs")
ap.add_argument("--fluentbit", type=int, default=0, metavar="BYTES")
ap.add_argument("--lifetime", type=float, default=300.0)
args = ap.parse_args()
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, body=b""):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_request_line(self, kind, length):
        with lock, open(args.requests, "a") as f:
            f.write(json.dumps({"path": self.path, "content_type": self.headers.get("Content-Type"),
                                "bytes": length, "result": kind}) + "\n")

    def fluentbit(self):
        """True when the request was answered the way Fluent Bit would refuse it."""
        length = int(self.headers.get("Content-Length", "0"))
        if length > args.fluentbit:
            self.log_request_line("closed", length)
            self.close_connection = True
            self.connection.shutdown(2)  # no status line: what curl reports as "Empty reply from server"
            return True
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        body = self.rfile.read(length)
        self.body = body
        ok = ctype == "application/json"
        if ok:
            dec, pos, text = json.JSONDecoder(), 0, body.decode("utf-8", "replace")
            try:
                while pos < len(text):
                    while pos < len(text) and text[pos] in " \r\n\t":
                        pos += 1
                    if pos < len(text):
                        obj, pos = dec.raw_decode(text, pos)
                        ok &= isinstance(obj, dict)
            except ValueError:
                ok = False
        if not ok:
            self.log_request_line("400", length)
            self.reply(400, b"error: invalid content type or JSON")
            return True
        return False

    def do_POST(self):
        if args.fluentbit:
            if self.fluentbit():
                return
            body = self.body
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if args.delay:
            time.sleep(args.delay)
        if args.status == 200:
            with lock:
                with open(args.out, "ab") as f:
                    f.write(body if body.endswith(b"\n") or not body else body + b"\n")
                    f.flush()
                    if args.out != os.devnull:
                        os.fsync(f.fileno())
                with open(args.requests, "a") as f:
                    f.write(json.dumps({"path": self.path, "content_type": self.headers.get("Content-Type"),
                                        "lines": len(body.splitlines()), "bytes": len(body), "result": "ok",
                                        "authorization": self.headers.get("Authorization"),
                                        "x_tenant": self.headers.get("X-Tenant")}) + "\n")
        if args.fluentbit:
            return self.reply(201)
        self.reply(args.status, b'{"status":"ok"}' if args.status == 200 else b'{"error":"test status"}')

    def do_GET(self):
        if not args.ecs:
            return self.reply(404)
        with open(args.ecs) as f:
            doc = json.load(f)
        self.reply(200, json.dumps(doc["task" if self.path.rstrip("/").endswith("/task") else "container"]).encode())


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


# An earlier collector killed mid-write may have left a partial last line:
# end it, so the next record starts on a line of its own.
if args.out != os.devnull and os.path.exists(args.out) and os.path.getsize(args.out):
    with open(args.out, "rb+") as f:
        f.seek(-1, os.SEEK_END)
        if f.read(1) != b"\n":
            f.write(b"\n")

srv = Server(("127.0.0.1", args.port), Handler)
if args.tls:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*args.tls)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
tmp = args.port_file + ".tmp"
with open(tmp, "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(tmp, args.port_file)
threading.Thread(target=srv.serve_forever, daemon=True).start()
time.sleep(args.lifetime)
sys.exit(0)
