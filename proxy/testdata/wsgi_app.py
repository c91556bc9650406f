"""A small WSGI application for espgate's proxy tests.

Served by the standard library's wsgiref on 127.0.0.1 and a free port; it
prints "port N" once it listens. No packages needed.

  /echo          the request as JSON: method, path, query, cookies,
                 forwarding headers, and the body's length and sha256;
                 sets two cookies
  /page?n=N      N bytes of compressible HTML, with Content-Length
  /stream?n=N    N lines of text, no Content-Length (the body ends when
                 the connection closes)
"""

import hashlib
import json
import sys
import time
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, make_server


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    query = environ.get("QUERY_STRING", "")
    args = parse_qs(query)
    if path == "/echo":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {
            key[5:].replace("_", "-").title(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        doc = {
            "method": environ["REQUEST_METHOD"],
            "path": path,
            "query": query,
            "args": {k: v for k, v in args.items()},
            "cookie": environ.get("HTTP_COOKIE", ""),
            "content_type": environ.get("CONTENT_TYPE", ""),
            "headers": headers,
            "body_len": len(body),
            "body_sha256": hashlib.sha256(body).hexdigest(),
        }
        out = json.dumps(doc).encode()
        start_response(
            "200 OK",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(out))),
                ("Set-Cookie", "session=abc123; Path=/"),
                ("Set-Cookie", "theme=dark; Path=/"),
            ],
        )
        return [out]
    if path == "/page":
        n = int(args.get("n", ["4000"])[0])
        line = b"<p>espgate puts an existing app on the modem, as it is.</p>\n"
        out = (b"<!doctype html>\n" + line * (n // len(line) + 1))[:n]
        start_response(
            "200 OK",
            [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(n))],
        )
        return [out]
    if path == "/stream":
        n = int(args.get("n", ["100"])[0])
        start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])

        def lines():
            for i in range(n):
                if i % 20 == 0:
                    time.sleep(0.01)
                yield b"line %05d of a body whose length nobody announced\n" % i

        return lines()
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found\n"]


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


def main():
    server = make_server("127.0.0.1", 0, app, handler_class=QuietHandler)
    print("port %d" % server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
