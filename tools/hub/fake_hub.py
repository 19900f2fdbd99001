#!/usr/bin/env python3
"""A loopback stand-in for the Hugging Face Hub, for tinythink's Hub client tests (src/io/hub_test.cpp).

Serves, on 127.0.0.1 at a free port (printed as the first stdout line), the endpoints and headers the
client uses, as the Hub sends them:
  HEAD /{datasets/}ORG/NAME/resolve/REV/PATH  X-Repo-Commit, ETag (git sha1, quoted) for small files;
       for LFS files a 302 to /cdn/SHA256 with X-Linked-Etag (sha256, quoted) and X-Linked-Size
  GET  /{datasets/}ORG/NAME/resolve/REV/PATH  the content (small files; LFS files: the same 302),
                                              honouring Range (bytes=A-B or bytes=A-) with a 206
  GET  /cdn/SHA256                            LFS content, honouring Range; the file 'drop.bin' is cut
                                              off half-way the first time (the connection closes)
  GET  /api/{models,datasets}/ORG/NAME/revision/REV  {"sha", "siblings": [{"rfilename"}]} (query ignored)
  GET  /api/{models,datasets}/ORG/NAME/tree/REV[/DIR]?recursive=B  [{"type": "file"|"directory", "oid",
                                              "size", "path", "lfs": {"oid", "size", "pointerSize"}}]
  POST /api/{models,datasets}/ORG/NAME/paths-info/REV  {"paths": [...], "expand": B}: the tree entries of
                                              those paths, with "lastCommit" when expand
  org/gated: 401 with X-Error-Code: GatedRepo, unless "Authorization: Bearer hf_granted"; unknown repos: 401 RepoNotFound (as the Hub answers
  anonymous callers); unknown files: 404 EntryNotFound. 'bad.bin' announces a wrong sha256.
  org/escape (model and dataset): a commit of '../../escaped' in its answers, as a hostile server's.
More repos come from folders: --serve models:ORG/NAME=DIR (or datasets:...) serves every file under
DIR, *.safetensors and *.parquet as LFS files.
Requests are logged to stderr. Usage: fake_hub.py [--serve KIND:ID=DIR ...] (runs until killed).
"""
import hashlib
import http.server
import json
import os
import re
import sys
import threading

COMMIT = "0123456789abcdef0123456789abcdef01234567"
SAFETENSORS = b'{"__metadata__":{"format":"pt"}}' + b"\0" * 4096  # content is what matters, not validity
REPOS = {
    ("models", "org/tiny"): {
        "config.json": (b'{"model_type": "llama"}\n', False),
        "tokenizer.json": (b'{"version": "1.0"}\n', False),
        "model.safetensors": (SAFETENSORS, True),
        "README.md": (b"# tiny\n", False),
        "onnx/model.onnx": (b"onnx", True),
    },
    ("models", "org/flaky"): {"drop.bin": (bytes(range(256)) * 400, True), "bad.bin": (b"real content", True)},
    ("datasets", "org/chat"): {
        "data/train-00000-of-00001.parquet": (b"PAR1 train", True),
        "data/test-00000-of-00001.parquet": (b"PAR1 test", True),
        "README.md": (b"# chat\n", False),
    },
}
REPOS[("models", "org/escape")] = {"config.json": (b'{"model_type": "llama"}\n', False)}
REPOS[("datasets", "org/escape")] = {"data/train-00000-of-00001.parquet": (b"PAR1 train", True)}
COMMITS = {("models", "org/escape"): "../../escaped", ("datasets", "org/escape"): "../../escaped"}
dropped = set()
lock = threading.Lock()


def git_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_sha(name, data):
    return "f" * 64 if name == "bad.bin" else hashlib.sha256(data).hexdigest()


def lfs_pointer(name, data):
    return b"version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n" % (lfs_sha(name, data).encode(), len(data))


def tree_entries(files, expand):
    """The Hub's tree / paths-info entries: files (an LFS file's oid is its pointer's git sha1) and the
    folders above them, sorted by path."""
    entries = {}
    for name, (data, lfs) in files.items():
        entry = {"type": "file", "size": len(data), "path": name}
        if lfs:
            pointer = lfs_pointer(name, data)
            entry["oid"] = git_sha1(pointer)
            entry["lfs"] = {"oid": lfs_sha(name, data), "size": len(data), "pointerSize": len(pointer)}
        else:
            entry["oid"] = git_sha1(data)
        if expand:
            entry["lastCommit"] = {"id": COMMIT, "title": "Upload", "date": "2026-01-01T00:00:00.000Z"}
        entries[name] = entry
        parts = name.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            folder = "/".join(parts[:depth])
            entries[folder] = {"type": "directory", "oid": git_sha1(folder.encode()), "size": 0, "path": folder}
    return [entries[k] for k in sorted(entries)]


def byte_range(header, total):
    """(start, end inclusive) of a 'bytes=A-B' or 'bytes=A-' Range header, or None without one."""
    if not header:
        return None
    m = re.fullmatch(r"bytes=(\d+)-(\d*)", header)
    end = min(int(m.group(2)), total - 1) if m.group(2) else total - 1
    return int(m.group(1)), end


class Hub(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("fake_hub: " + fmt % args + "\n")

    def reply(self, status, headers=None, body=b"", head=False):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def error(self, status, code, head):
        self.reply(status, {"X-Error-Code": code, "Content-Type": "application/json"}, json.dumps({"error": code}).encode(), head)

    def lookup(self, path):
        m = re.fullmatch(r"/(datasets/)?([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
        if not m:
            return None
        return ("datasets" if m.group(1) else "models", m.group(2), m.group(3), m.group(4))

    def handle_resolve(self, head):
        kind, repo, rev, name = self.lookup(self.path)
        if repo == "org/gated":
            if self.headers.get("Authorization") != "Bearer hf_granted":
                return self.error(401, "GatedRepo", head)
            repo = "org/tiny"  # with the right token, the gated repo serves org/tiny's files
        files = REPOS.get((kind, repo))
        if files is None:
            return self.error(401, "RepoNotFound", head)
        commit = COMMITS.get((kind, repo), COMMIT)
        if rev not in ("main", commit):
            return self.error(404, "RevisionNotFound", head)
        if name not in files:
            return self.error(404, "EntryNotFound", head)
        data, lfs = files[name]
        if lfs:
            sha = lfs_sha(name, data)
            return self.reply(302, {"Location": f"http://127.0.0.1:{self.server.server_port}/cdn/{sha}?name={name}",
                                    "X-Repo-Commit": commit, "X-Linked-Etag": f'"{sha}"', "X-Linked-Size": str(len(data)),
                                    "ETag": f'"{git_sha1(data)}"'}, b"", head)
        headers = {"X-Repo-Commit": commit, "ETag": f'"{git_sha1(data)}"'}
        rng = byte_range(self.headers.get("Range"), len(data))
        if rng:
            headers["Content-Range"] = f"bytes {rng[0]}-{rng[1]}/{len(data)}"
            self.send_response(206)
            for k, v in headers.items():
                self.send_header(k, v)
            body = data[rng[0]: rng[1] + 1]
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)
            return
        self.reply(200, headers, data, head)

    def handle_cdn(self, head):
        m = re.fullmatch(r"/cdn/([0-9a-f]{64})\?name=(.+)", self.path)
        found = [(n, d) for files in REPOS.values() for n, (d, lfs) in files.items() if lfs and m and n == m.group(2) and lfs_sha(n, d) == m.group(1)]
        if not found:
            return self.reply(404, {}, b"no such object", head)
        name, data = found[0]
        rng = self.headers.get("Range")
        start, end = byte_range(rng, len(data)) or (0, len(data) - 1)
        if rng:
            sys.stderr.write(f"fake_hub: Range {rng} of {name}\n")
        body = data[start: end + 1]
        self.send_response(206 if rng else 200)
        self.send_header("Content-Length", str(len(body)))
        if rng:
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.send_header("ETag", f'"{lfs_sha(name, data)}"')
        self.end_headers()
        if head:
            return
        with lock:
            drop = name == "drop.bin" and name not in dropped
            dropped.add(name)
        if drop:  # half the body, then the connection goes away
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(body)

    def handle_api(self, body=None):
        path, _, query = self.path.partition("?")
        m = re.fullmatch(r"/api/(models|datasets)/([^/]+/[^/]+)/(revision|tree|paths-info)/([^/]+)(/.+)?", path)
        if not m:
            return self.reply(404, {}, b"not found")
        kind, repo, call, rev, folder = m.groups()
        if repo == "org/gated":
            return self.error(401, "GatedRepo", False)
        files = REPOS.get((kind, repo))
        if files is None:
            return self.error(401, "RepoNotFound", False)
        if rev not in ("main", COMMITS.get((kind, repo), COMMIT)):
            return self.error(404, "RevisionNotFound", False)
        if call == "revision":
            answer = {"id": repo, "sha": COMMITS.get((kind, repo), COMMIT), "siblings": [{"rfilename": n} for n in files]}
        elif call == "tree":
            prefix = folder[1:] + "/" if folder else ""
            recursive = "recursive=true" in query
            answer = [e for e in tree_entries(files, "expand=true" in query) if e["path"].startswith(prefix)
                      and (recursive or "/" not in e["path"][len(prefix):])]
        else:
            request = json.loads(body or b"{}")
            wanted = set(request.get("paths", []))
            answer = [e for e in tree_entries(files, request.get("expand", False)) if e["path"] in wanted]
        self.reply(200, {"Content-Type": "application/json"}, json.dumps(answer).encode())

    def route(self, head):
        if self.path.startswith("/cdn/"):
            return self.handle_cdn(head)
        if self.path.startswith("/api/"):
            return self.handle_api()
        if self.lookup(self.path):
            return self.handle_resolve(head)
        self.reply(404, {}, b"not found", head)

    def do_HEAD(self):
        self.route(True)

    def do_GET(self):
        self.route(False)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.startswith("/api/"):
            return self.handle_api(body)
        self.reply(404, {}, b"not found")


def serve_folder(spec):
    kind_id, folder = spec.split("=", 1)
    kind, repo_id = kind_id.split(":", 1)
    files = {}
    for root, _, names in os.walk(folder):
        for name in names:
            full = os.path.join(root, name)
            rel = os.path.relpath(full, folder)
            with open(full, "rb") as f:
                files[rel] = (f.read(), rel.endswith((".safetensors", ".parquet")))
    REPOS[(kind, repo_id)] = files


if __name__ == "__main__":
    args = sys.argv[1:]
    while args:
        if args[0] != "--serve" or len(args) < 2:
            sys.exit("usage: fake_hub.py [--serve KIND:ORG/NAME=DIR ...]")
        serve_folder(args[1])
        args = args[2:]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    print(server.server_port, flush=True)
    server.serve_forever()
