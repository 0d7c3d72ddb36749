"""Sample service for the e2e suite.

Listens on every port in LISTEN_PORTS (comma-separated, default 8080).
  GET /health  -> 200 "ok"
  GET /        -> JSON report:
    db:    whether `psql` reached DB_HOST:DB_PORT as DB_USER/DB_PASSWORD on DB_NAME, and what the
           server said (database, user, whether schema DB_SCHEMA_NAME exists)
    links: for every X_HOST with X_PORT and X_URL set (the stack's link env), the addresses X_HOST
           resolves to and what GET X_URL/health answered
    env:   the names (never the values) of the variables the container was given
"""
import json
import os
import socket
import subprocess
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

QUERY = """SELECT json_build_object(
  'database', current_database(),
  'user', current_user,
  'schemaExists', EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = :'schema'));
"""


def check_db():
    env = os.environ
    report = {k: env.get("DB_" + k.upper()) for k in ("host", "port", "user", "name")}
    proc = subprocess.run(
        ["psql", "-h", env.get("DB_HOST", ""), "-p", env.get("DB_PORT", "5432"),
         "-U", env.get("DB_USER", ""), "-d", env.get("DB_NAME", ""),
         "-v", "ON_ERROR_STOP=1", "-v", "schema=" + env.get("DB_SCHEMA_NAME", ""),
         "--no-psqlrc", "--no-password", "-At"],
        input=QUERY, capture_output=True, text=True, timeout=10,
        env={**env, "PGPASSWORD": env.get("DB_PASSWORD", ""), "PGCONNECT_TIMEOUT": "3"},
    )
    if proc.returncode == 0:
        report.update(ok=True, server=json.loads(proc.stdout.strip()))
    else:
        report.update(ok=False, error=proc.stderr.strip())
    return report


def check_links():
    links = {}
    for name, host in os.environ.items():
        prefix = name[: -len("_HOST")]
        if not name.endswith("_HOST") or prefix == "DB":
            continue
        url = os.environ.get(prefix + "_URL")
        if url is None or (prefix + "_PORT") not in os.environ:
            continue
        link = {"host": host, "port": os.environ[prefix + "_PORT"], "url": url}
        try:
            link["addresses"] = sorted({a[4][0] for a in socket.getaddrinfo(host, None)})
        except OSError as e:
            link["addresses"] = []
            link["resolveError"] = str(e)
        try:
            with urllib.request.urlopen(url + "/health", timeout=3) as resp:
                link["http"] = {"status": resp.status, "body": resp.read().decode()}
        except Exception as e:  # report any failure, the test asserts on it
            link["http"] = {"error": str(e)}
        links[prefix] = link
    return links


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health":
            self.reply(200, "text/plain", b"ok")
            return
        if self.path != "/":
            self.reply(404, "text/plain", b"not found")
            return
        body = {
            "node": os.environ.get("NODENAME"),
            "port": self.server.server_address[1],
            "db": check_db(),
            "links": check_links(),
            "env": sorted(os.environ),
        }
        self.reply(200, "application/json", json.dumps(body).encode())

    def reply(self, status, kind, body):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


def main():
    ports = [int(p) for p in os.environ.get("LISTEN_PORTS", "8080").split(",") if p.strip()]
    servers = [ThreadingHTTPServer(("0.0.0.0", p), Handler) for p in ports]
    for s in servers[1:]:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    print("listening on", ports, flush=True)
    servers[0].serve_forever()


if __name__ == "__main__":
    main()
