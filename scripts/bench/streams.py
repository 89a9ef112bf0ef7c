"""Stream benchmarks of issue 10, used by system.py: `kubectl logs -f` throughput and exec round trips.

Each figure is measured three ways side by side, so the agent's share can be read off:
  - through the real kubectl and the Kubernetes simulator's kubelet proxy (the user's path),
  - directly against the agent's kubelet endpoint (what the agent itself serves),
  - directly against the Nomad simulator (what the agent reads from; the baseline).
The clients are small and written here (a WebSocket client for Nomad's exec, an SPDY/3.1 client for
the kubelet's exec as kube-apiserver speaks it), so both direct sides pay the same Python overhead.
"""
import base64
import http.client
import json
import os
import socket
import ssl
import struct
import subprocess
import time
import urllib.parse
import zlib

# SPDY/3 header compression dictionary (SPDY/3.1 section 2.6.10.1), as Sources/SPDY builds it.
_WORDS = [
    "options", "head", "post", "put", "delete", "trace", "accept", "accept-charset", "accept-encoding",
    "accept-language", "accept-ranges", "age", "allow", "authorization", "cache-control", "connection",
    "content-base", "content-encoding", "content-language", "content-length", "content-location",
    "content-md5", "content-range", "content-type", "date", "etag", "expect", "expires", "from", "host",
    "if-match", "if-modified-since", "if-none-match", "if-range", "if-unmodified-since", "last-modified",
    "location", "max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "range", "referer",
    "retry-after", "server", "te", "trailer", "transfer-encoding", "upgrade", "user-agent", "vary", "via",
    "warning", "www-authenticate", "method", "get", "status", "200 OK", "version", "HTTP/1.1", "url",
    "public", "set-cookie", "keep-alive", "origin",
]
_TAIL = (
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request"
    "401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented"
    "503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 "
    "Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,"
    "application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age="
    "gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
)
SPDY_DICTIONARY = b"".join(struct.pack(">I", len(word)) + word.encode() for word in _WORDS) + _TAIL.encode()


class StreamError(Exception):
    pass


def _read_head(sock):
    """Reads an HTTP response head; returns (status, head text, bytes read past it)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise StreamError(f"the connection closed before the response head ({data[:200]!r})")
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    status = int(head.split(b" ", 2)[1])
    return status, head.decode(errors="replace"), rest


class Buffered:
    """A socket with a read buffer: exact reads for frame parsing."""

    def __init__(self, sock, initial=b""):
        self.sock = sock
        self.buffer = bytearray(initial)

    def read_exactly(self, count):
        while len(self.buffer) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise StreamError("the connection closed in the middle of a frame")
            self.buffer += chunk
        out = bytes(self.buffer[:count])
        del self.buffer[:count]
        return out


class NomadExecWebSocket:
    """Nomad's exec endpoint (`/v1/client/allocation/:id/exec`): JSON text frames over a WebSocket."""

    def __init__(self, address, allocation, task, command):
        url = urllib.parse.urlparse(address)
        self.sock = socket.create_connection((url.hostname, url.port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        query = urllib.parse.urlencode({"task": task, "command": json.dumps(command), "tty": "false"})
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /v1/client/allocation/{allocation}/exec?{query} HTTP/1.1\r\nHost: {url.hostname}:{url.port}\r\n"
                           f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        status, head, rest = _read_head(self.sock)
        if status != 101:
            raise StreamError(f"Nomad exec upgrade answered {status}: {head[:300]}")
        self.reader = Buffered(self.sock, rest)

    def send_text(self, text):
        payload = text.encode()
        mask = os.urandom(4)
        header = bytes([0x81])
        length = len(payload)
        if length < 126:
            header += bytes([0x80 | length])
        elif length < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", length)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", length)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def receive(self):
        """The next data frame's payload (text or binary); None at a close frame."""
        while True:
            first, second = self.reader.read_exactly(2)
            opcode, length = first & 0x0F, second & 0x7F
            if length == 126:
                length = struct.unpack(">H", self.reader.read_exactly(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self.reader.read_exactly(8))[0]
            mask = self.reader.read_exactly(4) if second & 0x80 else None
            payload = self.reader.read_exactly(length)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == 0x8:
                return None
            if opcode in (0x1, 0x2, 0x0):
                return payload

    def write_stdin(self, data):
        self.send_text(json.dumps({"stdin": {"data": base64.b64encode(data).decode()}}))

    def read_stdout(self):
        """Bytes of the next frame carrying stdout."""
        while True:
            payload = self.receive()
            if payload is None:
                raise StreamError("Nomad closed the exec session")
            frame = json.loads(payload)
            if "stdout" in frame and frame["stdout"].get("data"):
                return base64.b64decode(frame["stdout"]["data"])
            if frame.get("exited"):
                raise StreamError(f"the exec'd command exited: {frame}")

    def close(self):
        try:
            self.send_text(json.dumps({"stdin": {"close": True}}))
        except OSError:
            pass
        self.sock.close()


class KubeletSPDYExec:
    """An exec on a kubelet endpoint over SPDY/3.1 as kube-apiserver opens it (remotecommand v4):
    an HTTP/1.1 upgrade, then SYN_STREAMs for the error, stdin and stdout streams."""

    def __init__(self, host, port, client_context, path):
        raw = socket.create_connection((host, port), timeout=30)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = client_context.wrap_socket(raw)
        self.sock.sendall((f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: 0\r\n"
                           "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n").encode())
        status, head, rest = _read_head(self.sock)
        if status != 101:
            raise StreamError(f"kubelet exec upgrade answered {status}: {head[:300]} {rest[:300]!r}")
        self.reader = Buffered(self.sock, rest)
        self.compressor = zlib.compressobj(zdict=SPDY_DICTIONARY)
        self.streams = {}
        for stream_id, kind in ((1, "error"), (3, "stdin"), (5, "stdout")):
            self._syn_stream(stream_id, {"streamtype": kind})
            self.streams[kind] = stream_id
        self.unacknowledged = {}

    def _control(self, frame_type, flags, payload):
        self.sock.sendall(struct.pack(">HHI", 0x8003, frame_type, (flags << 24) | len(payload)) + payload)

    def _syn_stream(self, stream_id, headers):
        block = struct.pack(">I", len(headers))
        for name, value in headers.items():
            block += struct.pack(">I", len(name)) + name.encode() + struct.pack(">I", len(value)) + value.encode()
        compressed = self.compressor.compress(block) + self.compressor.flush(zlib.Z_SYNC_FLUSH)
        self._control(1, 0, struct.pack(">IIBB", stream_id, 0, 0, 0) + compressed)

    def write_stdin(self, data):
        self.sock.sendall(struct.pack(">II", self.streams["stdin"], len(data)) + data)

    def read_stdout(self):
        """Bytes of the next DATA frame on stdout (answers PINGs, acknowledges received data)."""
        while True:
            head = self.reader.read_exactly(8)
            word, flags_length = struct.unpack(">II", head)
            length = flags_length & 0xFFFFFF
            payload = self.reader.read_exactly(length)
            if word & 0x80000000:
                frame_type = word & 0xFFFF
                if frame_type == 6:  # PING: echo it
                    self._control(6, 0, payload)
                elif frame_type == 3:  # RST_STREAM
                    raise StreamError(f"the kubelet reset a stream: {payload.hex()}")
                elif frame_type == 7:  # GOAWAY
                    raise StreamError("the kubelet sent GOAWAY")
                continue
            stream_id = word & 0x7FFFFFFF
            if length:
                self._acknowledge(stream_id, length)
            if stream_id == self.streams["stdout"] and length:
                return payload
            if stream_id == self.streams["error"] and length:
                raise StreamError(f"the exec failed: {payload[:300]!r}")

    def _acknowledge(self, stream_id, length):
        """WINDOW_UPDATE once half of the 64 KiB initial window is used, per stream and session."""
        for key in (stream_id, 0):
            self.unacknowledged[key] = self.unacknowledged.get(key, 0) + length
            if self.unacknowledged[key] >= 32768:
                self._control(9, 0, struct.pack(">II", key, self.unacknowledged[key]))
                self.unacknowledged[key] = 0

    def close(self):
        try:
            self._control(7, 0, struct.pack(">II", 0, 0))  # GOAWAY
        except OSError:
            pass
        self.sock.close()


class KubectlExec:
    """`kubectl exec -i POD -- cat` through the Kubernetes simulator: lines on its stdin and stdout."""

    def __init__(self, kubectl, kubeconfig, pod):
        self.process = subprocess.Popen([kubectl, "--kubeconfig", kubeconfig, "exec", "-i", pod, "--", "cat"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)

    def write_stdin(self, data):
        self.process.stdin.write(data)

    def read_stdout(self):
        data = os.read(self.process.stdout.fileno(), 65536)
        if not data:
            raise StreamError(f"kubectl exec ended: {self.process.stderr.read()[:300]!r}")
        return data

    def close(self):
        self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def round_trips(session, iterations, warmup=20):
    """Sends a line, waits until `cat` echoes all of it; returns the times in ms (after warm-up)."""
    samples = []
    for index in range(iterations + warmup):
        line = b"round-trip %08d\n" % index
        begin = time.perf_counter()
        session.write_stdin(line)
        received = b""
        while len(received) < len(line):
            received += session.read_stdout()
        elapsed = (time.perf_counter() - begin) * 1000
        if received != line:
            raise StreamError(f"cat echoed {received!r} for {line!r}")
        if index >= warmup:
            samples.append(elapsed)
    return samples


MARKER = b"ready\n"


def measure_follow(read_chunk, expected, go):
    """Reads until the writer's MARKER line (the stream is open and following), triggers the
    writer with go(), then reads `expected` more bytes; returns (bytes after the marker, seconds)."""
    seen = b""
    while MARKER not in seen:
        chunk = read_chunk()
        if not chunk:
            raise StreamError(f"the log stream ended before the writer's marker ({seen[-200:]!r})")
        seen += chunk
    received = len(seen) - seen.index(MARKER) - len(MARKER)
    begin = time.perf_counter()
    go()
    while received < expected:
        chunk = read_chunk()
        if not chunk:
            break
        received += len(chunk)
    return received, time.perf_counter() - begin


def follow_http(connection, path, expected, go):
    """A follow GET (Nomad's logs or the kubelet's containerLogs) on `connection`."""
    connection.request("GET", path)
    response = connection.getresponse()
    if response.status != 200:
        raise StreamError(f"GET {path} answered {response.status}: {response.read(300)!r}")
    try:
        return measure_follow(lambda: response.read1(1 << 20), expected, go)
    finally:
        connection.close()


def follow_kubectl(kubectl, kubeconfig, pod, expected, go):
    """`kubectl logs -f POD` through the Kubernetes simulator's pods/log proxy."""
    process = subprocess.Popen([kubectl, "--kubeconfig", kubeconfig, "logs", "-f", pod], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        return measure_follow(lambda: os.read(process.stdout.fileno(), 1 << 20), expected, go)
    finally:
        process.kill()
        process.wait()
