"""The example service of the local stack (Pulumi.local.yaml): what a service of this stack gets.

  GET /health -> 200 "ok"
  GET /       -> JSON: its NODENAME, where its database is (DB_HOST, DB_PORT, DB_NAME) and
                 whether a TCP connection to it succeeds; never a secret's value
"""
import json
import os
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def database():
    host, port = os.environ.get("DB_HOST", ""), int(os.environ.get("DB_PORT", "5432"))
    try:
        with socket.create_connection((host, port), timeout=2):
            reachable = True
    except OSError:
        reachable = False
    return {"host": host, "port": port, "name": os.environ.get("DB_NAME"), "reachable": reachable}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health":
            body, kind = b"ok", "text/plain"
        else:
            report = {"node": os.environ.get("NODENAME"), "database": database()}
            body, kind = json.dumps(report).encode(), "application/json"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
