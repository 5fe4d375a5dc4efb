"""The shop team's small API: items in PostgreSQL, a key-value cache with a TTL in Redis.

GET  /health               -> 200 {"status": "ok"}
POST /items {"name": ...}  -> 201 {"id": N, "name": ...}   (a row in PostgreSQL)
GET  /items/<id>           -> 200 the item, 404 when unknown
PUT  /cache/<key>?ttl=S    -> 204 (the body is the value; default TTL 60 s)
GET  /cache/<key>          -> 200 {"key", "value", "ttl"}, 404 when absent or expired
A database or cache that fails answers 503 with the error; the next request reconnects.
"""

import json
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import psycopg2
import redis

DSN = "host={host} port=5432 dbname={db} user={user} password={password} connect_timeout=3".format(
    host=os.environ.get("DB_HOST", "db"), db=os.environ["DB_NAME"], user=os.environ["DB_USER"],
    password=os.environ["DB_PASSWORD"])
CACHE = redis.Redis(host=os.environ.get("CACHE_HOST", "cache"), port=6379, socket_timeout=3,
                    socket_connect_timeout=3, decode_responses=True)
LOCAL = threading.local()
SCHEMA_LOCK = threading.Lock()  # concurrent CREATE TABLE IF NOT EXISTS can fail on pg_type's unique index
# One item per page (fillfactor 10, ~1 KB rows): every write extends the table, so a full disk
# shows on the next write rather than after the free space of the last page is used up.
SCHEMA = ("CREATE TABLE IF NOT EXISTS items (id serial PRIMARY KEY, name text NOT NULL, payload text,"
          " notes text NOT NULL DEFAULT repeat('.', 1000)) WITH (fillfactor = 10)")


class Unavailable(Exception):
    """A backing store failed."""


def database():
    """This thread's connection (opened, and the table created, on first use)."""
    conn = getattr(LOCAL, "conn", None)
    if conn is None or conn.closed:
        conn = psycopg2.connect(DSN)
        conn.autocommit = True
        with SCHEMA_LOCK, conn.cursor() as cur:
            cur.execute(SCHEMA)
        LOCAL.conn = conn
    return conn


def query(sql, args):
    """Run one statement; a failure drops the connection and raises Unavailable."""
    try:
        with database().cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchone()
    except psycopg2.Error as exc:
        conn = getattr(LOCAL, "conn", None)
        if conn is not None:
            conn.close()
        raise Unavailable("database: " + str(exc).strip()) from exc


class Api(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        print("api %s" % (fmt % args), flush=True)

    def reply(self, status, doc=None):
        body = b"" if doc is None else json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def route(self, method):
        url = urlsplit(self.path)
        for pattern, handler in ROUTES.get(method, ()):
            match = re.fullmatch(pattern, url.path)
            if match:
                try:
                    return handler(self, *match.groups(), params=parse_qs(url.query))
                except Unavailable as exc:
                    return self.reply(503, {"error": str(exc)})
        return self.reply(404, {"error": "no route " + method + " " + url.path})

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_PUT(self):
        self.route("PUT")


def health(req, params):
    req.reply(200, {"status": "ok"})


def create_item(req, params):
    try:
        doc = json.loads(req.body() or b"null")
    except ValueError:
        return req.reply(400, {"error": "malformed JSON"})
    if not isinstance(doc, dict) or not doc.get("name"):
        return req.reply(400, {"error": "missing field", "field": "name"})
    row = query("INSERT INTO items (name, payload) VALUES (%s, %s) RETURNING id",
                      (doc["name"], doc.get("payload")))
    print("created item", row[0], flush=True)
    req.reply(201, {"id": row[0], "name": doc["name"]})


def read_item(req, item_id, params):
    row = query("SELECT id, name FROM items WHERE id = %s", (int(item_id),))
    if row is None:
        return req.reply(404, {"error": "no item " + item_id})
    req.reply(200, {"id": row[0], "name": row[1]})


def put_cache(req, key, params):
    ttl = int(params.get("ttl", ["60"])[0])
    value = req.body().decode()
    try:
        CACHE.set(key, value, ex=ttl)
    except redis.RedisError as exc:
        raise Unavailable("cache: " + str(exc)) from exc
    req.reply(204)


def get_cache(req, key, params):
    try:
        value, ttl = CACHE.get(key), CACHE.ttl(key)
    except redis.RedisError as exc:
        raise Unavailable("cache: " + str(exc)) from exc
    if value is None:
        return req.reply(404, {"error": "no key " + key})
    req.reply(200, {"key": key, "value": value, "ttl": ttl})


ROUTES = {
    "GET": [(r"/health", health), (r"/items/(\d+)", read_item), (r"/cache/([\w.-]+)", get_cache)],
    "POST": [(r"/items", create_item)],
    "PUT": [(r"/cache/([\w.-]+)", put_cache)],
}

if __name__ == "__main__":
    server = ThreadingHTTPServer(("0.0.0.0", 8000), Api)
    server.daemon_threads = True
    print("api listening on 8000", flush=True)
    server.serve_forever()
