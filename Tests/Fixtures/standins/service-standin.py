#!/usr/bin/env python3
"""Stand-in for the servers of examples/{minio,loki,kafka,mongodb,weaviate} in end-to-end tests.

The real binaries cannot be downloaded on the test machines, so ServiceExamplesEndToEndTests packs
this one program into archives laid out as the vendors' are (minio.RELEASE..., loki-linux-amd64 in
a zip, kafka_2.13-X/bin/*.sh, mongodb-linux-.../bin/mongod, mongosh-.../bin/mongosh, weaviate) and
serves them as the PseudoImages' artifacts. It is started by the examples' own launch scripts, so
it reads the same command lines, configuration files and environment the real servers would, and
refuses what they would refuse (a missing configuration file, an unformatted Kafka log directory, a
MongoDB key file others can read). It then serves, on 127.0.0.1 and the port the configuration
names:
  - the service's health endpoints (any GET outside /standin answers 200; a TCP connect succeeds),
  - GET/PUT /standin/kv/<key>: a value stored as a file in the data directory,
  - GET /standin/info: what it read (service, data directory, boots),
and on SIGTERM records a clean shutdown in the data directory before exiting 0.
"""
import http.server
import json
import os
import re
import signal
import socket
import stat
import sys
import urllib.request


def fail(message):
    print(f"standin: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def option(args, name):
    """The value of `--name value`, `--name=value` or `-name=value`."""
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(name + "="):
            return arg[len(name) + 1:]
    return None


def properties(path):
    """A Java properties file; later keys win, as java.util.Properties does."""
    values = {}
    try:
        with open(path) as handle:
            for line in handle:
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    key, value = line.split("=", 1)
                    values[key.strip()] = value.strip()
    except OSError as error:
        fail(f"cannot read the configuration {path}: {error}")
    return values


def read_text(path, what):
    try:
        with open(path) as handle:
            return handle.read()
    except OSError as error:
        fail(f"cannot read {what} {path}: {error}")


def port_of_address(address):
    match = re.search(r":(\d+)$", address or "")
    if not match:
        fail(f"no port in address {address!r}")
    return int(match.group(1))


def minio(args):
    if not args or args[0] != "server":
        fail("usage: minio server --address :PORT DIR")
    config = os.environ.get("MINIO_CONFIG_ENV_FILE")
    if config:
        read_text(config, "MINIO_CONFIG_ENV_FILE")
    for name in ("MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"):
        if not os.environ.get(name):
            fail(f"{name} is not set")
    positional = [arg for index, arg in enumerate(args[1:]) if not arg.startswith("-") and not args[index].startswith("--")]
    return port_of_address(option(args, "--address")), positional[-1]


def loki(args):
    path = option(args, "-config.file") or fail("-config.file is required")
    text = read_text(path, "the configuration")
    if option(args, "-config.expand-env") == "true":
        text = re.sub(r"\$\{(\w+)\}", lambda m: os.environ.get(m.group(1), ""), text)
    port = re.search(r"http_listen_port:\s*(\d+)", text)
    prefix = re.search(r"path_prefix:\s*(\S+)", text)
    if not port or not prefix:
        fail("the configuration names no http_listen_port or path_prefix")
    return int(port.group(1)), prefix.group(1)


def kafka_log_dir(config):
    log_dirs = config.get("log.dirs") or fail("log.dirs is not set")
    return log_dirs.split(",")[0]


def kafka_format(args):
    config = properties(option(args, "--config") or option(args, "-c") or fail("--config is required"))
    cluster = option(args, "--cluster-id") or option(args, "-t") or fail("--cluster-id is required")
    directory = kafka_log_dir(config)
    meta = os.path.join(directory, "meta.properties")
    if os.path.exists(meta):
        if "--ignore-formatted" in args or "-g" in args:
            print(f"All of the log directories are already formatted: {directory}", flush=True)
            return 0
        fail(f"Log directory {directory} is already formatted")
    os.makedirs(directory, exist_ok=True)
    with open(meta, "w") as handle:
        handle.write(f"cluster.id={cluster}\nnode.id={config.get('node.id', '')}\nversion=1\n")
        handle.write(f"formatted.by={os.environ.get('NOMAD_ALLOC_ID', '')}\n")
    print(f"Formatting {directory} with cluster.id {cluster}", flush=True)
    return 0


def kafka_server(args):
    if not args:
        fail("usage: kafka-server-start.sh server.properties")
    config = properties(args[0])
    directory = kafka_log_dir(config)
    if not os.path.exists(os.path.join(directory, "meta.properties")):
        fail(f"No meta.properties found in {directory} (have you run kafka-storage.sh to format the directory?)")
    listener = next((item for item in config.get("listeners", "").split(",") if item.startswith("PLAINTEXT://")), None)
    return port_of_address(listener), directory


def mongod(args):
    config = read_text(option(args, "--config") or fail("--config is required"), "the configuration")
    port = re.search(r"port:\s*(\d+)", config)
    keyfile = option(args, "--keyFile") or fail("--keyFile is required")
    try:
        mode = stat.S_IMODE(os.stat(keyfile).st_mode)
    except OSError as error:
        fail(f"cannot read the key file {keyfile}: {error}")
    if mode & 0o077:
        fail(f"permissions on {keyfile} are too open")
    return int(port.group(1)) if port else 27017, option(args, "--dbpath") or fail("--dbpath is required")


def mongosh(args):
    host, port = option(args, "--host") or "127.0.0.1", int(option(args, "--port") or 27017)
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError as error:
        fail(f"MongoNetworkError: connect ECONNREFUSED {host}:{port} ({error})")
    script = option(args, "--file")
    if script is None:
        print("1", flush=True)
        return 0
    read_text(script, "the script")
    member = os.environ.get("MEMBER_HOST") or fail("MEMBER_HOST is not set")
    request = urllib.request.Request(f"http://{host}:{port}/standin/replset", data=member.encode(), method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        print(response.read().decode(), flush=True)
    return 0


def weaviate(args):
    directory = os.environ.get("PERSISTENCE_DATA_PATH") or fail("PERSISTENCE_DATA_PATH is not set")
    return int(option(args, "--port") or 8080), directory


def serve(service, port, directory):
    if not os.path.isdir(directory):
        fail(f"the data directory {directory} does not exist")
    with open(os.path.join(directory, "standin-boots"), "a") as handle:
        handle.write(f"{os.environ.get('NOMAD_ALLOC_ID', '')} {os.getpid()}\n")

    def shutdown(signum, frame):
        with open(os.path.join(directory, "standin-shutdowns"), "a") as handle:
            handle.write(f"clean {signal.Signals(signum).name}\n")
        os._exit(0)

    signal.signal(signal.SIGTERM, shutdown)

    class Handler(http.server.BaseHTTPRequestHandler):
        def answer(self, status, body=b""):
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def key_path(self):
            key = self.path[len("/standin/kv/"):]
            return os.path.join(directory, "kv", key) if re.fullmatch(r"[A-Za-z0-9._-]+", key) else None

        def do_GET(self):
            if self.path.startswith("/standin/kv/"):
                path = self.key_path()
                if path and os.path.exists(path):
                    return self.answer(200, open(path, "rb").read())
                return self.answer(404)
            if self.path == "/standin/info":
                boots = open(os.path.join(directory, "standin-boots")).read().splitlines()
                return self.answer(200, json.dumps({"service": service, "dataDirectory": directory, "boots": boots}).encode())
            self.answer(200, b"OK")

        def do_PUT(self):
            path = self.key_path() if self.path.startswith("/standin/kv/") else None
            if not path:
                return self.answer(404)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as handle:
                handle.write(body)
                handle.flush()
                os.fsync(handle.fileno())
            self.answer(201)

        def do_POST(self):
            if self.path != "/standin/replset":
                return self.answer(404)
            member = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
            path = os.path.join(directory, "replset.json")
            if not os.path.exists(path):
                with open(path, "w") as handle:
                    json.dump({"_id": "rs0", "members": [{"_id": 0, "host": member}]}, handle)
                return self.answer(201, b"initiated replica set rs0")
            self.answer(200, b"replica set rs0 already initiated")

        def log_message(self, format, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"standin {service} serving 127.0.0.1:{port} with data in {directory}", flush=True)
    server.serve_forever()


def main():
    program, args = os.path.basename(sys.argv[0]), sys.argv[1:]
    if program == "kafka-storage.sh":
        return kafka_format(args)
    if program == "mongosh":
        return mongosh(args)
    servers = {"minio": minio, "loki": loki, "kafka-server-start.sh": kafka_server, "mongod": mongod, "weaviate": weaviate}
    service = next((name for name in servers if program.startswith(name)), None)
    if service is None:
        fail(f"unknown program name {program}")
    port, directory = servers[service](args)
    serve(service, port, directory)


if __name__ == "__main__":
    sys.exit(main())
