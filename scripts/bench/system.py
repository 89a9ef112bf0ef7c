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
import urllib.error
import urllib.request

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
        paths = {}
        for name in ["certificate-authority-data", "client-certificate-data", "client-key-data"]:
            path = os.path.join(scratch, name)
            with open(path, "wb") as out:
                out.write(base64.b64decode(field(name)))
            paths[name] = path
        self.context = ssl.create_default_context(cafile=paths["certificate-authority-data"])
        self.context.load_cert_chain(paths["client-certificate-data"], paths["client-key-data"])

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


def fio_through_agent(kube, timeline, directory, size, runtime, timeout):
    """Runs the same fio jobs as a pseudo-container (Nomad raw_exec via the agent) and reads its JSON."""
    script = os.path.join(directory, "run.py")
    os.makedirs(directory, exist_ok=True)
    shutil.copy(__file__, script)
    out = os.path.join(directory, "result.json")
    command = [sys.executable, script, "--fio-only", directory, "--fio-size", size, "--fio-runtime", str(runtime), "--fio-out", out]
    manifest = pod_manifest("fio")
    manifest["spec"]["restartPolicy"] = "Never"
    manifest["spec"]["containers"][0]["command"] = command
    kube.request("POST", "/api/v1/namespaces/default/pods", manifest)
    timeline.wait("the fio pod to finish (Succeeded)", lambda events: any(
        e["kind"] == "pods" and e["name"] == "fio" and e["phase"] in ("Succeeded", "Failed") for e in events), timeout)
    phase = [e["phase"] for e in timeline.events if e["kind"] == "pods" and e["name"] == "fio"][-1]
    if phase != "Succeeded" or not os.path.exists(out):
        fail(f"the fio pod ended {phase} without {out}")
    kube.request("DELETE", "/api/v1/namespaces/default/pods/fio")
    return json.load(open(out))


def fio_benchmarks(kube, timeline, scratch, quick):
    binary = shutil.which("fio")
    if binary is None:
        fail("fio is not installed (scripts/bench.sh installs it with apt-get)")
    size, runtime = ("16M", 2) if quick else ("256M", 10)
    base = tempfile.mkdtemp(prefix="fio-", dir="/var/tmp")
    try:
        host = run_fio(binary, os.path.join(base, "host"), size, runtime, "host")
        agent = fio_through_agent(kube, timeline, os.path.join(base, "agent"), size, runtime, timeout=runtime * 3 * 4 + 60)
        lower, upper, work, merged = (os.path.join(base, d) for d in ["lower", "upper", "work", "merged"])
        for directory in (lower, upper, work, merged):
            os.makedirs(directory)
        overlay = None
        mounted = subprocess.run(["mount", "-t", "overlay", "overlay", "-o", f"lowerdir={lower},upperdir={upper},workdir={work}", merged],
                                 capture_output=True, text=True)
        if mounted.returncode == 0:
            try:
                overlay = run_fio(binary, os.path.join(merged, "data"), size, runtime, "overlay")
            finally:
                subprocess.run(["umount", merged], check=False)
        else:
            overlay = {"skipped": f"mount -t overlay failed: {mounted.stderr.strip()}"}
        return {"size": size, "runtime_s": runtime, "host": host, "agent_raw_exec": agent, "overlayfs": overlay}
    finally:
        shutil.rmtree(base, ignore_errors=True)


def start_sandbox(binary, state, timeline_path):
    """Starts nomad-kubelet-sandbox in `state` and waits until it is ready; returns the process."""
    log = open(os.path.join(state, "sandbox.log"), "w")
    # Its own kubelet port, so two benchmark runs (or a sandbox.sh) on one machine do not collide.
    environment = dict(os.environ, SANDBOX_KUBELET_PORT=str(free_port()))
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
    process = start_sandbox(args.sandbox, state, os.path.join(state, "timeline.jsonl"))
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
    args = parser.parse_args()
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
        processes.append(start_sandbox(args.sandbox, state, timeline_path))
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
        for total in (args.small, args.large):
            names = {f"bench-{index}" for index in range(len(all_names), total)}
            begin = now_ms()
            create_pods(kube, sorted(names))
            timeline.wait(f"{len(names)} pods Running", lambda events: running(events, names), 60 + total)
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
        delete_pods(kube, sorted(all_names))
        timeline.wait(f"{len(all_names)} pods gone", lambda events: gone(events, all_names), 60 + len(all_names))
        last = max(e["t"] for e in timeline.events if e["kind"] == "pods" and e["type"] == "DELETED" and e["name"] in all_names)
        throughput[f"delete_{len(all_names)}_pods_per_s"] = round(len(all_names) / ((last - begin) / 1000), 1)
        result["throughput"] = throughput
        if not args.no_fio:
            result["fio"] = fio_benchmarks(kube, timeline, state, args.quick)
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
