#!/usr/bin/env python3
"""System benchmarks of issue 10 against the simulators (real processes), driven by scripts/bench.sh.

Starts nomad-kubelet-sandbox (the Kubernetes API and Nomad simulators) with --timeline, then the
agent (`nomad-kubelet run`), and measures:
  - cold start: agent exec -> the Node's Ready condition written (simulator timestamp);
  - RSS and CPU of the agent at idle with 0, then SMALL, then LARGE pods held;
  - latency pod bound -> Nomad job registered (for all pods of the bursts, and for --serial pods
    created one at a time): the pod's ADDED write in the Kubernetes simulator's
    timeline -> the job's SubmitTime in the Nomad simulator;
  - latency Nomad allocation change -> pods/status written: the task's "Started" event time in the
    Nomad simulator -> the first write of the pod with phase Running in the Kubernetes simulator;
  - throughput: pods/s from the first create to the last pod Running, and from the first delete to
    the last pod gone (DELETED);
  - disk I/O with fio (unless --no-fio): host directory vs a pseudo-container through the agent vs
    a directory on an overlayfs mount;
  - first, unless --no-baseline, the simulators' own rates with no agent (a fresh sandbox): pods
    created, status-patched, given an Event and deleted directly in the Kubernetes simulator, and
    the agent's job for the benchmark pod registered to Running and stopped directly in the Nomad
    simulator, by the same 8 clients: the ceiling the agent's throughput is read against.
Every timestamp of a latency comes from the simulators (same host clock); the script's own clock is
used only for the start of the cold start and of the throughput windows.
Writes a JSON document to --out. Exits non-zero (naming what broke) if a step fails or times out.
"""
import argparse
import base64
import concurrent.futures
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import http.client
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import streams  # noqa: E402  (scripts/bench/streams.py)

NODE = "vk-bench"
TICKS = os.sysconf("SC_CLK_TCK")


def fail(message):
    raise SystemExit(f"bench: {message}")


def now_ms():
    return time.time() * 1000.0


class Kubernetes:
    """A minimal client of the simulator's API with the admin kubeconfig it writes."""

    def __init__(self, kubeconfig, scratch):
        text = open(kubeconfig).read()

        def field(name):
            match = re.search(rf"{name}: (\S+)", text)
            if not match:
                fail(f"{kubeconfig} has no {name}")
            return match.group(1)

        self.server = field("server")
        self.kubeconfig = kubeconfig
        paths = {}
        for name in ["certificate-authority-data", "client-certificate-data", "client-key-data"]:
            path = os.path.join(scratch, name)
            with open(path, "wb") as out:
                out.write(base64.b64decode(field(name)))
            paths[name] = path
        self.context = ssl.create_default_context(cafile=paths["certificate-authority-data"])
        self.context.load_cert_chain(paths["client-certificate-data"], paths["client-key-data"])
        # For the agent's kubelet endpoint, as kube-apiserver reaches it: the same client
        # certificate (signed by the cluster CA the agent trusts), the serving certificate unchecked.
        self.kubelet_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.kubelet_context.check_hostname = False
        self.kubelet_context.verify_mode = ssl.CERT_NONE
        self.kubelet_context.load_cert_chain(paths["client-certificate-data"], paths["client-key-data"])

    def request(self, method, path, body=None, content_type="application/json"):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.server + path, data=data, method=method, headers={"Content-Type": content_type})
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            fail(f"{method} {path} answered {error.code}: {error.read()[:300]!r}")


def nomad_get(address, path):
    with urllib.request.urlopen(address + path, timeout=30) as response:
        return json.loads(response.read())


def pod_manifest(name):
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": "bench"}},
        "spec": {
            "nodeName": NODE, "automountServiceAccountToken": False, "terminationGracePeriodSeconds": 1,
            "tolerations": [{"key": "virtual-kubelet.io/provider", "operator": "Exists"}],
            "containers": [{
                "name": "sleep", "image": "nomad-kubelet.io/host", "command": ["/bin/sleep", "100000"],
                "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
            }],
        },
    }


class Timeline:
    """Reads the JSON lines the sandbox appends (one per Pod/Node write, with its ms timestamp)."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.events = []

    def read(self):
        with open(self.path) as handle:
            handle.seek(self.offset)
            chunk = handle.read()
        complete = chunk[: chunk.rfind("\n") + 1]
        self.offset += len(complete.encode())
        self.events += [json.loads(line) for line in complete.splitlines() if line]
        return self.events

    def wait(self, what, predicate, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.read()
            if predicate(self.events):
                return
            time.sleep(0.05)
        fail(f"timed out after {timeout}s waiting for {what}")


def first_time(events, predicate):
    return next((event["t"] for event in events if predicate(event)), None)


def process_sample(pid):
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    cpu_seconds = (int(fields[11]) + int(fields[12])) / TICKS
    rss_kb = 0
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                rss_kb = int(line.split()[1])
    return cpu_seconds, rss_kb


def idle_cost(pid, seconds):
    """RSS at the end and CPU share of one core over `seconds` of idling."""
    cpu_before, _ = process_sample(pid)
    start = time.time()
    time.sleep(seconds)  # the measurement window itself, not a synchronisation
    cpu_after, rss_kb = process_sample(pid)
    return {"rss_mb": round(rss_kb / 1024, 1), "cpu_percent": round(100 * (cpu_after - cpu_before) / (time.time() - start), 2)}


def percentiles(values):
    if not values:
        return None
    ordered = sorted(values)

    def at(q):
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {"count": len(ordered), "p50": at(0.50), "p90": at(0.90), "p99": at(0.99), "max": round(ordered[-1], 1)}


def create_pods(kube, names, workers=8):
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda name: kube.request("POST", "/api/v1/namespaces/default/pods", pod_manifest(name)), names))


def delete_pods(kube, names, workers=8):
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda name: kube.request("DELETE", f"/api/v1/namespaces/default/pods/{name}"), names))


def running(events, names):
    seen = {event["name"] for event in events if event["kind"] == "pods" and event["phase"] == "Running"}
    return names <= seen


def gone(events, names):
    seen = {event["name"] for event in events if event["kind"] == "pods" and event["type"] == "DELETED"}
    return names <= seen


def latencies(events, nomad, names):
    """Per pod: bound -> job registered, and task Started -> pod Running written (ms)."""
    added = {e["name"]: e["t"] for e in events if e["kind"] == "pods" and e["type"] == "ADDED" and e["name"] in names}
    running_at = {}
    for event in events:
        if event["kind"] == "pods" and event["phase"] == "Running" and event["name"] in names:
            running_at.setdefault(event["name"], event["t"])
    jobs = {job["ID"]: job for job in nomad_get(nomad, "/v1/jobs")}
    started = {}
    for allocation in nomad_get(nomad, "/v1/allocations"):
        for state in (allocation.get("TaskStates") or {}).values():
            for event in state.get("Events") or []:
                if event.get("Type") == "Started":
                    job = allocation["JobID"]
                    started[job] = min(started.get(job, float("inf")), event["Time"] / 1e6)
    registered, status_written = [], []
    for name in names:
        job_id = next((job for job in jobs if job.startswith(f"default.{name}.")), None)
        if job_id is None or name not in added:
            fail(f"pod {name} has no Nomad job or no ADDED write")
        registered.append(jobs[job_id]["SubmitTime"] / 1e6 - added[name])
        if job_id in started and name in running_at:
            status_written.append(running_at[name] - started[job_id])
    return registered, status_written


def run_fio(binary, directory, size, runtime, label):
    """4k random read/write IOPS, 1M sequential write MB/s and fsync latency, in `directory`."""
    os.makedirs(directory, exist_ok=True)
    results = {}
    jobs = {
        "randrw_4k": ["--rw=randrw", "--bs=4k", "--ioengine=psync"],
        "seqwrite_1m": ["--rw=write", "--bs=1M", "--ioengine=psync"],
        "fsync_4k": ["--rw=write", "--bs=4k", "--fsync=1", "--ioengine=psync"],
    }
    for name, flags in jobs.items():
        output = subprocess.run(
            [binary, f"--name={label}-{name}", f"--directory={directory}", f"--size={size}", f"--runtime={runtime}", "--time_based",
             "--output-format=json", *flags],
            capture_output=True, text=True, check=True).stdout
        job = json.loads(output[output.index("{"):])["jobs"][0]  # fio may print notes before the JSON
        results[name] = {
            "read_iops": round(job["read"]["iops"]), "write_iops": round(job["write"]["iops"]),
            "write_mb_s": round(job["write"]["bw_bytes"] / 1e6, 1),
            "fsync_p99_us": round(job.get("sync", {}).get("lat_ns", {}).get("percentile", {}).get("99.000000", 0) / 1000, 1),
        }
    return results


def run_pod_to_completion(kube, timeline, name, manifest, out, timeout):
    """Creates the pod, waits until it ends, returns the JSON its program wrote to `out`, deletes it."""
    kube.request("POST", "/api/v1/namespaces/default/pods", manifest)
    timeline.wait(f"the {name} pod to finish (Succeeded)", lambda events: any(
        e["kind"] == "pods" and e["name"] == name and e["phase"] in ("Succeeded", "Failed") for e in events), timeout)
    phase = [e["phase"] for e in timeline.events if e["kind"] == "pods" and e["name"] == name][-1]
    if phase != "Succeeded" or not os.path.exists(out):
        fail(f"the {name} pod ended {phase} without {out}")
    result = json.load(open(out))
    os.remove(out)
    kube.request("DELETE", f"/api/v1/namespaces/default/pods/{name}")
    return result


def fio_through_agent(kube, timeline, directory, size, runtime, timeout, name="fio"):
    """Runs the same fio jobs as a pseudo-container (Nomad raw_exec via the agent) and reads its JSON."""
    script = os.path.join(directory, "system.py")
    os.makedirs(directory, exist_ok=True)
    for source in ("system.py", "streams.py"):
        shutil.copy(os.path.join(os.path.dirname(os.path.abspath(__file__)), source), os.path.join(directory, source))
    out = os.path.join(directory, "result.json")
    command = [sys.executable, script, "--fio-only", directory, "--fio-size", size, "--fio-runtime", str(runtime), "--fio-out", out]
    manifest = pod_manifest(name)
    manifest["spec"]["restartPolicy"] = "Never"
    manifest["spec"]["containers"][0]["command"] = command
    return run_pod_to_completion(kube, timeline, name, manifest, out, timeout)


def median_of(results):
    """The per-field median of same-shaped JSON results (numbers at the leaves)."""
    first = results[0]
    if isinstance(first, dict):
        return {key: median_of([result[key] for result in results]) for key in first}
    if isinstance(first, (int, float)) and not isinstance(first, bool):
        ordered = sorted(results)
        middle = len(ordered) // 2
        return ordered[middle] if len(ordered) % 2 else round((ordered[middle - 1] + ordered[middle]) / 2, 3)
    return first


def with_overlay(base, label, run):
    """Runs run(directory) in a directory on a fresh overlayfs mount (lower/upper/work under base)."""
    lower, upper, work, merged = (os.path.join(base, f"{label}-{d}") for d in ["lower", "upper", "work", "merged"])
    for directory in (lower, upper, work, merged):
        os.makedirs(directory)
        os.chmod(directory, 0o755)
    mounted = subprocess.run(["mount", "-t", "overlay", "overlay", "-o", f"lowerdir={lower},upperdir={upper},workdir={work}", merged],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        return {"skipped": f"mount -t overlay failed: {mounted.stderr.strip()}"}
    try:
        return run(os.path.join(merged, "data"))
    finally:
        subprocess.run(["umount", merged], check=False)


def fio_benchmarks(kube, timeline, scratch, quick):
    """Rounds of (a) host, (b) through the agent, (c) overlayfs, interleaved so that a change of the
    shared machine's load does not fall on one side only; each figure is the median over rounds."""
    binary = shutil.which("fio")
    if binary is None:
        fail("fio is not installed (scripts/bench.sh installs it with apt-get)")
    size, runtime, rounds = ("16M", 2, 1) if quick else ("256M", 5, 3)
    base = tempfile.mkdtemp(prefix="fio-", dir="/var/tmp")
    try:
        results = {"host": [], "agent_raw_exec": [], "overlayfs": []}
        for index in range(rounds):
            results["host"].append(run_fio(binary, os.path.join(base, "host"), size, runtime, "host"))
            results["agent_raw_exec"].append(fio_through_agent(kube, timeline, os.path.join(base, "agent"), size, runtime,
                                                               timeout=runtime * 3 * 4 + 60, name=f"fio-{index}"))
            results["overlayfs"].append(with_overlay(base, f"overlay-{index}", lambda d: run_fio(binary, d, size, runtime, "overlay")))
        summary = {key: median_of(values) for key, values in results.items()}
        return {"size": size, "runtime_s": runtime, "rounds": rounds, **summary, "per_round": results}
    finally:
        shutil.rmtree(base, ignore_errors=True)


def start_sandbox(binary, state, timeline_path, kubelet_port):
    """Starts nomad-kubelet-sandbox in `state` and waits until it is ready; returns the process.
    `kubelet_port` goes to the agent's configuration: not 10250, other agents may share the machine."""
    log = open(os.path.join(state, "sandbox.log"), "w")
    environment = dict(os.environ, SANDBOX_KUBELET_PORT=str(kubelet_port))
    process = subprocess.Popen(
        [binary, "--state-dir", state, "--node-name", NODE, "--timeline", timeline_path,
         "--nomad-cpu-mhz", "1000000", "--nomad-memory-mb", "1000000"], stdout=log, stderr=subprocess.STDOUT, env=environment)
    deadline = time.time() + 60
    while not os.path.exists(os.path.join(state, "ready")):
        if time.time() > deadline or process.poll() is not None:
            process.kill()
            fail(f"the simulators did not start (log: {state}/sandbox.log)")
        time.sleep(0.05)
    return process


def wait_pods_running(timeline, names, timeout=60):
    timeline.wait(f"pods {', '.join(sorted(names))} Running", lambda events: running(events, set(names)), timeout)


def allocation_of(nomad, pod, container):
    """The Nomad allocation ID and task name running `container` of `pod` (namespace default)."""
    job_id = next((job["ID"] for job in nomad_get(nomad, "/v1/jobs") if job["ID"].startswith(f"default.{pod}.")), None)
    if job_id is None:
        fail(f"pod {pod} has no Nomad job")
    allocations = nomad_get(nomad, f"/v1/job/{urllib.parse.quote(job_id, safe='')}/allocations")
    if not allocations:
        fail(f"job {job_id} has no allocation")
    tasks = [task["Name"] for group in nomad_get(nomad, f"/v1/job/{urllib.parse.quote(job_id, safe='')}")["TaskGroups"] for task in group["Tasks"]]
    return allocations[0]["ID"], container if container in tasks else tasks[0]


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as handle:
        return next(round(int(line.split()[1]) / 1024, 1) for line in handle if line.startswith("VmHWM:"))


def stream_benchmarks(kube, timeline, nomad, kubelet_port, agent_pid, scratch, quick):
    """`kubectl logs -f` throughput and exec round trips, each through kubectl + the Kubernetes
    simulator, directly against the agent's kubelet endpoint, and directly against Nomad."""
    size = (20 if quick else 200) * 1000 * 1000
    iterations = 100 if quick else 1000
    kubectl = shutil.which("kubectl")
    paths = ["nomad", "agent"] + (["kubectl"] if kubectl else [])
    line = "nomad-kubelet log throughput benchmark line, 64 bytes long....."
    go_files = {path: os.path.join(scratch, f"go-{path}") for path in paths}
    for path in paths:
        manifest = pod_manifest(f"logs-{path}")
        manifest["spec"]["restartPolicy"] = "Never"
        # The marker first (the reader then knows its stream is open), then the burst on a signal.
        manifest["spec"]["containers"][0]["command"] = [
            "/bin/sh", "-c", f"echo ready; while [ ! -e {go_files[path]} ]; do sleep 0.01; done; yes '{line}' | head -c {size}"]
        kube.request("POST", "/api/v1/namespaces/default/pods", manifest)
    exec_pod = pod_manifest("exec-target")
    kube.request("POST", "/api/v1/namespaces/default/pods", exec_pod)
    wait_pods_running(timeline, [f"logs-{path}" for path in paths] + ["exec-target"])

    def go(path):
        return lambda: open(go_files[path], "w").close()

    logs = {}
    peak_before = peak_rss_mb(agent_pid)
    for path in paths:
        pod = f"logs-{path}"
        if path == "nomad":
            allocation, task = allocation_of(nomad, pod, "sleep")
            address = urllib.parse.urlparse(nomad)
            query = urllib.parse.urlencode({"task": task, "type": "stdout", "origin": "start", "offset": 0, "follow": "true", "plain": "true"})
            received, seconds = streams.follow_http(http.client.HTTPConnection(address.hostname, address.port, timeout=60),
                                                    f"/v1/client/fs/logs/{allocation}?{query}", size, go(path))
        elif path == "agent":
            received, seconds = streams.follow_http(
                http.client.HTTPSConnection("127.0.0.1", kubelet_port, context=kube.kubelet_context, timeout=60),
                f"/containerLogs/default/{pod}/sleep?follow=true", size, go(path))
        else:
            received, seconds = streams.follow_kubectl(kubectl, kube.kubeconfig, pod, size, go(path))
        if received < size:
            fail(f"the {path} log stream of {pod} ended after {received} of {size} bytes")
        logs[path] = {"bytes": received, "seconds": round(seconds, 3), "mb_s": round(received / seconds / 1e6, 1)}

    peak_after = peak_rss_mb(agent_pid)
    exec_rtt = {}
    allocation, task = allocation_of(nomad, "exec-target", "sleep")
    sessions = {
        "nomad": lambda: streams.NomadExecWebSocket(nomad, allocation, task, ["cat"]),
        "agent": lambda: streams.KubeletSPDYExec("127.0.0.1", kubelet_port, kube.kubelet_context,
                                                 "/exec/default/exec-target/sleep?command=cat&input=1&output=1"),
    }
    if kubectl:
        sessions["kubectl"] = lambda: streams.KubectlExec(kubectl, kube.kubeconfig, "exec-target")
    for path, open_session in sessions.items():
        session = open_session()
        try:
            samples = streams.round_trips(session, iterations)
        except (streams.StreamError, OSError) as error:
            fail(f"exec round trips through {path} failed: {error}")
        finally:
            session.close()
        exec_rtt[path] = percentiles(samples)
        exec_rtt[path]["p50"] = round(sorted(samples)[len(samples) // 2], 3)
        exec_rtt[path]["p99"] = round(sorted(samples)[min(len(samples) - 1, int(0.99 * len(samples)))], 3)
    names = [f"logs-{path}" for path in paths] + ["exec-target"]
    for name in names:
        kube.request("DELETE", f"/api/v1/namespaces/default/pods/{name}")
    timeline.wait("the stream benchmark pods gone", lambda events: gone(events, set(names)), 60)
    return {"log_bytes": size, "logs_follow": logs, "agent_peak_rss_mb_before_logs": peak_before, "agent_peak_rss_mb_after_logs": peak_after, "exec_iterations": iterations, "exec_round_trip_ms": exec_rtt,
            "kubectl": kubectl or "not installed: kubectl rows skipped"}


def postgres_bin():
    """The newest Debian PostgreSQL's bin directory (initdb, pg_ctl and pgbench live there)."""
    versions = sorted((d for d in os.listdir("/usr/lib/postgresql") if d.isdigit()), key=int) if os.path.isdir("/usr/lib/postgresql") else []
    if not versions:
        fail("PostgreSQL is not installed (scripts/bench.sh installs it with apt-get)")
    return f"/usr/lib/postgresql/{versions[-1]}/bin"


def run_pgbench(directory, scale, seconds, clients):
    """TPS of pgbench's TPC-B-like default script against a fresh cluster in `directory` (fsync
    and synchronous_commit on: every commit reaches the disk). The server runs as the `postgres`
    user (it refuses root), started and stopped here; its socket is in a short private directory."""
    binaries = postgres_bin()
    data = os.path.join(directory, "pgdata")
    os.makedirs(data, exist_ok=True)
    socket_dir = tempfile.mkdtemp(prefix="pgsock.", dir="/tmp")
    root = os.geteuid() == 0  # else already the server's user (a Nomad exec task runs as postgres)
    if root:
        for path in (data, socket_dir):
            shutil.chown(path, "postgres", "postgres")
        # The postgres user has to reach the data directory: let it traverse the (root-owned) parents.
        parent = os.path.dirname(os.path.realpath(data))
        while parent != "/":
            mode = os.stat(parent).st_mode
            if not mode & 0o001:
                os.chmod(parent, (mode & 0o7777) | 0o001)
            parent = os.path.dirname(parent)
    os.chmod(data, 0o700)

    log = os.path.join(socket_dir, "postgres.log")

    def as_postgres(*command, check=True):
        done = subprocess.run(["runuser", "-u", "postgres", "--", *command] if root else list(command), capture_output=True, text=True)
        if check and done.returncode != 0:
            server_log = open(log).read()[-1000:] if os.path.exists(log) else ""
            fail(f"{os.path.basename(command[0])} failed ({done.returncode}): {done.stderr[-1000:]} {server_log}")
        return done

    as_postgres(f"{binaries}/initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-instructions")
    as_postgres(f"{binaries}/pg_ctl", "-D", data, "-w", "-l", log,
                "-o", f"-k {socket_dir} -c listen_addresses='' -c shared_buffers=128MB", "start")
    try:
        as_postgres(f"{binaries}/pgbench", "-h", socket_dir, "-i", "-q", "-s", str(scale), "postgres")
        output = as_postgres(f"{binaries}/pgbench", "-h", socket_dir, "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds),
                             "postgres").stdout
    finally:
        as_postgres(f"{binaries}/pg_ctl", "-D", data, "-w", "-m", "fast", "stop", check=False)
        shutil.rmtree(socket_dir, ignore_errors=True)
    tps = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", output)
    latency = re.search(r"latency average = ([0-9.]+) ms", output)
    if not tps:
        fail(f"pgbench printed no TPS: {output[-500:]}")
    return {"tps": round(float(tps.group(1)), 1), "latency_avg_ms": float(latency.group(1)) if latency else None}


def pgbench_through_agent(kube, timeline, script_directory, scale, seconds, clients, timeout, name="pgbench"):
    """pgbench as a pseudo-container through the agent, its data directory on the pod's emptyDir
    volume (mounted at /data, i.e. $NOMAD_KUBELET_ROOT/data under raw_exec)."""
    os.makedirs(script_directory, exist_ok=True)
    for source in ("system.py", "streams.py"):
        shutil.copy(os.path.join(os.path.dirname(os.path.abspath(__file__)), source), os.path.join(script_directory, source))
    out = os.path.join(script_directory, "pgbench.json")
    manifest = pod_manifest(name)
    manifest["spec"]["restartPolicy"] = "Never"
    manifest["spec"]["volumes"] = [{"name": "data", "emptyDir": {}}]
    container = manifest["spec"]["containers"][0]
    container["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
    container["command"] = ["/bin/sh", "-c", f'exec {sys.executable} {script_directory}/system.py --pgbench-only "$NOMAD_KUBELET_ROOT/data" '
                            f"--pgbench-scale {scale} --pgbench-seconds {seconds} --pgbench-clients {clients} --pgbench-out {out}"]
    return run_pod_to_completion(kube, timeline, name, manifest, out, timeout)


def pgbench_benchmarks(kube, timeline, scratch, quick):
    """Rounds of (a) host, (b) through the agent on its emptyDir, (c) overlayfs, interleaved as fio's;
    each figure is the median over rounds, every round on a fresh cluster."""
    scale, seconds, clients, rounds = (1, 3, 4, 1) if quick else (10, 10, 4, 3)
    base = tempfile.mkdtemp(prefix="pgbench-", dir=scratch)  # the same file system as the agent's volumes
    try:
        results = {"host": [], "agent_raw_exec_emptydir": [], "overlayfs": []}
        for index in range(rounds):
            results["host"].append(run_pgbench(os.path.join(base, f"host-{index}"), scale, seconds, clients))
            results["agent_raw_exec_emptydir"].append(pgbench_through_agent(
                kube, timeline, os.path.join(base, "agent"), scale, seconds, clients, timeout=seconds + 120, name=f"pgbench-{index}"))
            results["overlayfs"].append(with_overlay(base, f"overlay-{index}", lambda d: run_pgbench(d, scale, seconds, clients)))
        summary = {key: median_of(values) for key, values in results.items()}
        return {"scale": scale, "seconds": seconds, "clients": clients, "rounds": rounds, **summary, "per_round": results}
    finally:
        shutil.rmtree(base, ignore_errors=True)


def real_nomad_driver_benchmarks(address, quick):
    """fio and pgbench as batch jobs submitted straight to a real Nomad client, under the exec driver
    (chroot + cgroups) and raw_exec, beside the same runs on the host: what Nomad's isolation costs
    (the agent is not in the data path; b/a above shows it adds nothing). The script goes into the
    task by a template (its own delimiters, control characters the sources do not contain, so their braces are left alone); results come back
    through Nomad's file API."""
    size, runtime = ("16M", 2) if quick else ("256M", 5)
    scale, seconds, clients = (1, 3, 4) if quick else (10, 10, 4)
    here = os.path.dirname(os.path.abspath(__file__))
    sources = {name: open(os.path.join(here, name)).read() for name in ("system.py", "streams.py")}

    def request(method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        with urllib.request.urlopen(urllib.request.Request(address + path, data=data, method=method), timeout=30) as response:
            return response.read()

    def run_job(driver, kind):
        job_id = f"nomad-kubelet-bench-{kind}-{driver}-{time.time_ns()}"
        if kind == "fio":
            arguments = ["--fio-only", "local/fio", "--fio-size", size, "--fio-runtime", str(runtime), "--fio-out", "local/result.json"]
        else:
            arguments = ["--pgbench-only", "local/pg", "--pgbench-scale", str(scale), "--pgbench-seconds", str(seconds),
                         "--pgbench-clients", str(clients), "--pgbench-out", "local/result.json"]
        task = {
            # The exec driver refuses root (its default user denylist); pgbench's server needs postgres anyway.
            "Name": "bench", "Driver": driver, "User": "root" if driver == "raw_exec" else "postgres",
            "Config": {"command": "/usr/bin/python3", "args": ["local/system.py", *arguments]},
            "Templates": [{"EmbeddedTmpl": text, "DestPath": f"local/{name}", "LeftDelim": "\u0001[", "RightDelim": "]\u0001",
                           "ChangeMode": "noop"} for name, text in sources.items()],
            "Resources": {"CPU": 1000, "MemoryMB": 2048},
        }
        job = {"ID": job_id, "Name": job_id, "Type": "batch", "Datacenters": ["dc1"], "TaskGroups": [{
            "Name": "bench", "Count": 1, "Tasks": [task], "RestartPolicy": {"Attempts": 0, "Mode": "fail"},
            "ReschedulePolicy": {"Attempts": 0, "Unlimited": False}, "EphemeralDisk": {"SizeMB": 2048}}]}
        request("PUT", "/v1/jobs", {"Job": job})
        deadline = time.time() + 3 * runtime + seconds + 180
        try:
            while time.time() < deadline:
                allocations = json.loads(request("GET", f"/v1/job/{job_id}/allocations"))
                states = [a["ClientStatus"] for a in allocations]
                if any(state in ("complete", "failed", "lost") for state in states):
                    allocation = allocations[0]["ID"]
                    if states[0] != "complete":
                        events = [e.get("DisplayMessage") for e in ((allocations[0].get("TaskStates") or {}).get("bench") or {}).get("Events") or []]
                        try:
                            stderr = request("GET", f"/v1/client/fs/logs/{allocation}?task=bench&type=stderr&plain=true&origin=end&offset=2000")
                        except urllib.error.HTTPError as error:
                            stderr = error.read()
                        fail(f"the {driver} {kind} job on the real Nomad ended {states[0]}: {events[-3:]} {stderr.decode(errors='replace')}")
                    return json.loads(request("GET", f"/v1/client/fs/cat/{allocation}?path=bench/local/result.json"))
                time.sleep(0.5)
            fail(f"the {driver} {kind} job on the real Nomad did not finish in time")
        finally:
            request("DELETE", f"/v1/job/{job_id}?purge=true")

    rounds = 1 if quick else 3
    runs = {"fio": {"host": [], "raw_exec": [], "exec": []}, "pgbench": {"host": [], "raw_exec": [], "exec": []}}
    base = tempfile.mkdtemp(prefix="real-nomad-host-", dir="/var/tmp")
    try:
        for index in range(rounds):  # interleaved as above; medians over rounds
            runs["fio"]["host"].append(run_fio(shutil.which("fio"), os.path.join(base, "fio"), size, runtime, "host"))
            runs["pgbench"]["host"].append(run_pgbench(os.path.join(base, f"pg-{index}"), scale, seconds, clients))
            for driver in ("raw_exec", "exec"):
                runs["fio"][driver].append(run_job(driver, "fio"))
                runs["pgbench"][driver].append(run_job(driver, "pgbench"))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return {"address": address, "rounds": rounds, **{kind: {key: median_of(values) for key, values in by_place.items()} for kind, by_place in runs.items()},
            "per_round": runs}


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def bench_job(agent, state):
    """The Nomad job the agent registers for the benchmark pod (`nomad-kubelet translate`), as a
    function of an index giving each copy its own ID."""
    manifest = os.path.join(state, "bench-pod.json")
    with open(manifest, "w") as out:
        json.dump(pod_manifest("bench-0"), out)
    output = subprocess.run([agent, "translate", "-f", manifest, "--config", os.path.join(state, "agent.yaml")],
                            capture_output=True, text=True, check=True).stdout
    template = json.loads(output[output.index("{"):])["Job"]

    def job(index):
        copy = json.loads(json.dumps(template))
        copy["ID"] = copy["Name"] = f"baseline-{index}"
        return {"Job": copy}
    return job


def nomad_call(address, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(address + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"null")


def wait_for_allocations(address, count, predicate, what, timeout):
    """Polls the allocation list until `count` allocations satisfy `predicate`; returns when (script clock, ms)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        allocations = nomad_call(address, "GET", "/v1/allocations")
        if sum(1 for allocation in allocations if predicate(allocation)) >= count:
            return now_ms()
        time.sleep(0.5)  # a poll interval: listing every allocation costs the simulator too
    fail(f"timed out after {timeout}s waiting for {what}")


def simulators_alone(args, count, processes, workers=8):
    """The simulators' own rates for the benchmark's work, with no agent, in a fresh sandbox: the
    ceiling the agent's throughput is measured against. Kubernetes: `count` pods created on a node
    no agent serves, each given one status write and one Event (what the agent writes per pod at
    least), then deleted with grace 0. Nomad: the job the agent registers for the benchmark pod,
    registered `count` times, to every allocation running (each a real /bin/sleep), then deregistered
    to every allocation complete. The same 8 concurrent clients as the agent benchmark."""
    state = tempfile.mkdtemp(prefix="nomad-kubelet-baseline.")
    process = start_sandbox(args.sandbox, state, os.path.join(state, "timeline.jsonl"), free_port())
    processes.append(process)
    rates = {"pods": count}
    try:
        kube = Kubernetes(os.path.join(state, "admin.kubeconfig"), state)
        nomad = open(os.path.join(state, "nomad-address")).read().strip()
        names = [f"alone-{index}" for index in range(count)]

        def manifest(name):
            pod = pod_manifest(name)
            pod["spec"]["nodeName"] = "no-agent"
            return pod

        def timed(label, call, items):
            begin = time.time()
            with concurrent.futures.ThreadPoolExecutor(workers) as pool:
                list(pool.map(call, items))
            rates[label] = round(len(items) / (time.time() - begin), 1)

        timed("kubernetes_pod_creates_per_s", lambda name: kube.request("POST", "/api/v1/namespaces/default/pods", manifest(name)), names)
        status = {"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}
        timed("kubernetes_status_patches_per_s", lambda name: kube.request(
            "PATCH", f"/api/v1/namespaces/default/pods/{name}/status", status, "application/strategic-merge-patch+json"), names)
        timed("kubernetes_event_creates_per_s", lambda name: kube.request("POST", "/api/v1/namespaces/default/events", {
            "apiVersion": "v1", "kind": "Event", "metadata": {"name": f"{name}.started", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "namespace": "default", "name": name}, "reason": "Started", "message": "Started", "type": "Normal"}), names)
        timed("kubernetes_pod_deletes_per_s", lambda name: kube.request(
            "DELETE", f"/api/v1/namespaces/default/pods/{name}", {"gracePeriodSeconds": 0}), names)

        job = bench_job(args.agent, state)
        begin = now_ms()
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda index: nomad_call(nomad, "POST", "/v1/jobs", job(index)), range(count)))
        registered = now_ms()
        rates["nomad_job_registers_per_s"] = round(count / ((registered - begin) / 1000), 1)
        running_at = wait_for_allocations(nomad, count, lambda a: a.get("ClientStatus") == "running", f"{count} allocations running", 60 + count)
        rates["nomad_jobs_to_running_per_s"] = round(count / ((running_at - begin) / 1000), 1)
        begin = now_ms()
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda index: nomad_call(nomad, "DELETE", f"/v1/job/baseline-{index}"), range(count)))
        stopped_at = wait_for_allocations(nomad, count, lambda a: a.get("ClientStatus") == "complete", f"{count} allocations complete", 60 + count)
        rates["nomad_jobs_to_stopped_per_s"] = round(count / ((stopped_at - begin) / 1000), 1)
    finally:
        process.terminate()
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(state, ignore_errors=True)
    return rates


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--agent")
    parser.add_argument("--sandbox")
    parser.add_argument("--out")
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=1000)
    parser.add_argument("--idle-seconds", type=float, default=10)
    parser.add_argument("--serial", type=int, default=100)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-fio", action="store_true")
    parser.add_argument("--no-baseline", action="store_true", help="skip the simulators' own rates (no agent)")
    parser.add_argument("--fio-only")
    parser.add_argument("--fio-size")
    parser.add_argument("--fio-runtime", type=int)
    parser.add_argument("--fio-out")
    parser.add_argument("--pgbench-only")
    parser.add_argument("--pgbench-scale", type=int)
    parser.add_argument("--pgbench-seconds", type=int)
    parser.add_argument("--pgbench-clients", type=int)
    parser.add_argument("--pgbench-out")
    parser.add_argument("--no-streams", action="store_true")
    parser.add_argument("--real-nomad", help="a real Nomad agent's address: also run fio and pgbench under its exec and raw_exec drivers")
    args = parser.parse_args()
    if args.pgbench_only:  # inside the pgbench pod: run it on the volume, write the JSON
        json.dump(run_pgbench(args.pgbench_only, args.pgbench_scale, args.pgbench_seconds, args.pgbench_clients), open(args.pgbench_out, "w"))
        return
    if args.fio_only:  # inside the fio pod: run the jobs, write the JSON
        json.dump(run_fio(shutil.which("fio") or "/usr/bin/fio", os.path.join(args.fio_only, "data"), args.fio_size, args.fio_runtime, "agent"),
                  open(args.fio_out, "w"))
        return

    state = tempfile.mkdtemp(prefix="nomad-kubelet-bench.")
    processes = []

    def stop_all(*_):
        for process in reversed(processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    result = {}
    try:
        if not args.no_baseline:
            result["simulators_alone"] = simulators_alone(args, args.large, processes)
        timeline_path = os.path.join(state, "timeline.jsonl")
        kubelet_port = free_port()
        sandbox = start_sandbox(args.sandbox, state, timeline_path, kubelet_port)
        processes.append(sandbox)
        kube = Kubernetes(os.path.join(state, "admin.kubeconfig"), state)
        nomad = open(os.path.join(state, "nomad-address")).read().strip()
        config = open(os.path.join(state, "agent.yaml")).read().replace("vk-sandbox", NODE)
        config = config.replace("node:\n", f"node:\n  capacity:\n    pods: \"{args.large + 100}\"\n    cpu: \"1000\"\n    memory: 1000Gi\n", 1)
        config = config.replace("level: info", "level: warning")
        with open(os.path.join(state, "bench-agent.yaml"), "w") as out:
            out.write(config)
        timeline = Timeline(timeline_path)

        agent_log = open(os.path.join(state, "agent.log"), "w")
        started = now_ms()
        agent = subprocess.Popen([args.agent, "run", "--config", os.path.join(state, "bench-agent.yaml")], stdout=agent_log, stderr=subprocess.STDOUT)
        processes.append(agent)
        timeline.wait("the Node to be Ready", lambda events: any(e["kind"] == "nodes" and e["ready"] == "True" for e in events), 60)
        ready_at = first_time(timeline.events, lambda e: e["kind"] == "nodes" and e["ready"] == "True")
        result["cold_start_ms"] = round(ready_at - started, 1)

        result["idle"] = {"0": idle_cost(agent.pid, args.idle_seconds)}
        all_names, throughput = set(), {}
        # Where the CPU of each throughput window went: the agent and the simulators (one process)
        # share the machine's cores with the benchmark's client.
        result["throughput_cpu_seconds"] = cpu_seconds = {}

        def cpu_now():
            return {"agent": process_sample(agent.pid)[0], "simulators": process_sample(sandbox.pid)[0], "wall": time.time()}

        def cpu_since(before):
            after = cpu_now()
            return {key: round(after[key] - before[key], 1) for key in before}

        for total in (args.small, args.large):
            names = {f"bench-{index}" for index in range(len(all_names), total)}
            begin = now_ms()
            cpu_before = cpu_now()
            create_pods(kube, sorted(names))
            timeline.wait(f"{len(names)} pods Running", lambda events: running(events, names), 60 + total)
            cpu_seconds[f"create_{len(names)}"] = cpu_since(cpu_before)
            last = max(t for t in (first_time(timeline.events, lambda e, n=n: e["kind"] == "pods" and e["name"] == n and e["phase"] == "Running") for n in names))
            throughput[f"create_{len(names)}_pods_per_s"] = round(len(names) / ((last - begin) / 1000), 1)
            all_names |= names
            if agent.poll() is not None:
                fail(f"the agent exited ({agent.returncode}); log: {state}/agent.log")
            result["idle"][str(total)] = idle_cost(agent.pid, args.idle_seconds)
        registered, status_written = latencies(timeline.events, nomad, all_names)
        result["latency_ms"] = {
            "pod_bound_to_job_registered": percentiles(registered), "allocation_running_to_pod_status_written": percentiles(status_written),
        }
        result["latency_samples_ms"] = {"pod_bound_to_job_registered": [round(v, 2) for v in registered],
                                        "allocation_running_to_pod_status_written": [round(v, 2) for v in status_written]}
        # The same latencies one pod at a time (each waits for the previous to run): what the agent
        # adds to a single pod, without the queueing of a burst.
        serial = set()
        for index in range(args.serial):
            name = f"serial-{index}"
            create_pods(kube, [name], workers=1)
            timeline.wait(f"pod {name} Running", lambda events, n={name}: running(events, n), 60)
            serial.add(name)
        registered, status_written = latencies(timeline.events, nomad, serial)
        result["latency_ms"]["pod_bound_to_job_registered_one_at_a_time"] = percentiles(registered)
        result["latency_ms"]["allocation_running_to_pod_status_written_one_at_a_time"] = percentiles(status_written)
        all_names |= serial
        begin = now_ms()
        cpu_before = cpu_now()
        delete_pods(kube, sorted(all_names))
        timeline.wait(f"{len(all_names)} pods gone", lambda events: gone(events, all_names), 60 + len(all_names))
        cpu_seconds[f"delete_{len(all_names)}"] = cpu_since(cpu_before)
        last = max(e["t"] for e in timeline.events if e["kind"] == "pods" and e["type"] == "DELETED" and e["name"] in all_names)
        throughput[f"delete_{len(all_names)}_pods_per_s"] = round(len(all_names) / ((last - begin) / 1000), 1)
        result["throughput"] = throughput
        if not args.no_streams:
            result["streams"] = stream_benchmarks(kube, timeline, nomad, kubelet_port, agent.pid, state, args.quick)
        if not args.no_fio:
            result["fio"] = fio_benchmarks(kube, timeline, state, args.quick)
            result["pgbench"] = pgbench_benchmarks(kube, timeline, state, args.quick)
            if args.real_nomad:
                result["real_nomad_drivers"] = real_nomad_driver_benchmarks(args.real_nomad.rstrip("/"), args.quick)
        if agent.poll() is not None:
            fail(f"the agent exited ({agent.returncode}); log: {state}/agent.log")
    except SystemExit:
        for log in ("agent.log", "sandbox.log"):
            path = os.path.join(state, log)
            if os.path.exists(path):
                print(f"--- last lines of {log}:", file=sys.stderr)
                print("".join(open(path).readlines()[-15:]), file=sys.stderr)
        raise
    finally:
        stop_all()
        shutil.rmtree(state, ignore_errors=True)
    with open(args.out, "w") as out:
        json.dump(result, out, indent=1)


if __name__ == "__main__":
    main()
