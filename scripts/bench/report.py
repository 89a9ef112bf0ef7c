#!/usr/bin/env python3
"""Joins the micro-benchmark export (ordo-one/benchmark's JMH JSON) and the system benchmarks'
JSON into bench-results/<date>.json with the machine's description, prints the table with the goal
of issue 10 beside each figure, and draws the plots (PNG). Run by scripts/bench.sh."""
import argparse
import glob
import json
import os
import platform
import subprocess

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def machine():
    memory_kb = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal:"))
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), platform.processor())
    swift = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.splitlines()
    return {
        "cores": os.cpu_count(), "cpu": model, "memory_gb": round(memory_kb / 1024 / 1024, 1), "kernel": platform.release(),
        "swift": swift[0] if swift else "unknown", "load_average_at_end": os.getloadavg(),
    }


def framed_log_bytes():
    """The size of the framed-log benchmark's input (the recorded stream repeated to ~1 MB)."""
    path = os.path.join(ROOT, "Tests/Fixtures/recorded/nomad/04-logs-follow-framed.txt")
    body = "".join(line for line in open(path).read().split("\n") if line and not line.startswith("#"))
    return max(1, (1 << 20) // len(body.encode())) * len(body.encode())


def micro(directory):
    files = glob.glob(os.path.join(directory, "*.json"))
    if not files:
        raise SystemExit(f"bench: no micro-benchmark export in {directory}")
    results = {}
    for element in json.load(open(files[0])):
        name = element["benchmark"].split(".", 3)[-1].replace("_", " ")
        wall = element["secondaryMetrics"].get("Time (wall clock)") or element["primaryMetric"]
        mallocs = element["secondaryMetrics"].get("Malloc (total)")
        entry = {
            "p50_us": wall["scorePercentiles"]["50.0"], "p99_us": wall["scorePercentiles"]["99.0"],
            "mallocs_p50": mallocs["scorePercentiles"]["50.0"] if mallocs else None,
        }
        if "framed log" in name:
            entry["mb_per_s"] = round(framed_log_bytes() / entry["p50_us"], 1)
        if "DATA frame 16 KiB" in name:
            entry["mb_per_s"] = round(16384 / entry["p50_us"], 1)
        if "1,000-pod list" in name:
            entry["pods_per_s"] = round(1000 / (entry["p50_us"] / 1e6))
        results[name] = entry
    return results


def table(document):
    rows = [("Micro-benchmark", "p50", "p99", "mallocs", "rate")]
    for name, entry in document["micro"].items():
        rate = f'{entry["mb_per_s"]} MB/s' if "mb_per_s" in entry else (f'{entry["pods_per_s"]} pods/s' if "pods_per_s" in entry else "")
        rows.append((name, f'{entry["p50_us"]} µs', f'{entry["p99_us"]} µs', str(entry["mallocs_p50"]), rate))
    system = document["system"]
    lines = ["", "\n".join(f"{a:<62} {b:>12} {c:>12} {d:>9} {e:>14}" for a, b, c, d, e in rows), ""]
    goal_rows = [("System benchmark", "measured", "goal", "")]

    def check(value, goal, smaller_is_better=True):
        if value is None:
            return "n/a"
        return "met" if (value <= goal if smaller_is_better else value >= goal) else "MISSED"

    for key, label, goal in [("pod_bound_to_job_registered", "pod bound -> Nomad job registered", 50),
                             ("allocation_running_to_pod_status_written", "allocation Running -> pods/status written", 500),
                             ("pod_bound_to_job_registered_one_at_a_time", "  the same, one pod at a time", 50),
                             ("allocation_running_to_pod_status_written_one_at_a_time", "  the same, one pod at a time", 500)]:
        stats = system["latency_ms"].get(key)
        if stats:
            goal_rows.append((f"{label} p50/p90/p99 (n={stats['count']})", f"{stats['p50']}/{stats['p90']}/{stats['p99']} ms", f"p99 <= {goal} ms",
                              check(stats["p99"], goal)))
    for key, value in system["throughput"].items():
        goal_rows.append((key.replace("_", " "), f"{value} pods/s", ">= 100 pods/s", check(value, 100, False)))
    alone = system.get("simulators_alone")
    if alone:
        # Not the agent: the ceiling its throughput is measured against (same run, no agent).
        for key, value in alone.items():
            if key != "pods":
                goal_rows.append((f"  simulators alone, {alone['pods']}: {key.replace('_per_s', '').replace('_', ' ')}", f"{value} /s", "(ceiling)", ""))
    for count, cost in system["idle"].items():
        goal_rows.append((f"agent idle with {count} pods: RSS / CPU", f'{cost["rss_mb"]} MB / {cost["cpu_percent"]} %',
                          "<= 100 MB / <= 2 %", "met" if cost["rss_mb"] <= 100 and cost["cpu_percent"] <= 2 else "MISSED"))
    goal_rows.append(("cold start to Node Ready", f'{system["cold_start_ms"]} ms', "<= 1000 ms", check(system["cold_start_ms"], 1000)))
    fio = system.get("fio")
    if fio:
        for job, metric in [("randrw_4k", "read_iops"), ("randrw_4k", "write_iops"), ("seqwrite_1m", "write_mb_s"), ("fsync_4k", "fsync_p99_us")]:
            host = fio["host"][job][metric]
            agent = fio["agent_raw_exec"][job][metric]
            overlay = fio["overlayfs"].get(job, {}).get(metric) if isinstance(fio["overlayfs"], dict) else None
            ratio = lambda other: f"{other / host:.2f}" if host and other is not None else "n/a"  # noqa: E731
            goal_rows.append((f"fio {job} {metric}: host / b/a agent / c/a overlayfs", f"{host} / {ratio(agent)} / {ratio(overlay)}",
                              "b/a >= 0.98" if metric != "fsync_p99_us" else "(latency ratio)", ""))
    streams = system.get("streams")
    if streams:
        logs = streams["logs_follow"]
        for path, label in [("nomad", "Nomad logs follow (plain), direct"), ("agent", "kubelet /containerLogs follow, direct"),
                            ("kubectl", "kubectl logs -f via the API simulator")]:
            if path in logs:
                goal_rows.append((f"{label}: MB/s", f'{logs[path]["mb_s"]} MB/s', ">= 50 MB/s" if path != "nomad" else "(baseline)",
                                  check(logs[path]["mb_s"], 50, False) if path != "nomad" else ""))
        rtt = streams["exec_round_trip_ms"]
        for path, label in [("nomad", "exec cat round trip, Nomad WebSocket direct"), ("agent", "exec cat round trip, kubelet SPDY direct"),
                            ("kubectl", "exec cat round trip, kubectl exec -i")]:
            if path in rtt:
                goal_rows.append((f"{label} p50/p99", f'{rtt[path]["p50"]}/{rtt[path]["p99"]} ms', "", ""))
        if "agent" in rtt and "nomad" in rtt:
            added = (rtt["agent"]["p50"] - rtt["nomad"]["p50"], rtt["agent"]["p99"] - rtt["nomad"]["p99"])
            goal_rows.append(("  added by the agent (SPDY - Nomad) p50/p99", f"{added[0]:.2f}/{added[1]:.2f} ms", "<= 5 ms", check(added[1], 5)))
    pgbench = system.get("pgbench")
    if pgbench:
        host = pgbench["host"]["tps"]
        agent = pgbench["agent_raw_exec_emptydir"]["tps"]
        overlay = pgbench["overlayfs"].get("tps")
        ratio = lambda other: f"{other / host:.2f}" if host and other is not None else "n/a"  # noqa: E731
        goal_rows.append((f"pgbench TPS (scale {pgbench['scale']}): host / b/a / c/a", f"{host} / {ratio(agent)} / {ratio(overlay)}", "b/a >= 0.98", ""))
    real = system.get("real_nomad_drivers")
    if real:
        for job, metric in [("randrw_4k", "read_iops"), ("randrw_4k", "write_iops"), ("seqwrite_1m", "write_mb_s"), ("fsync_4k", "fsync_p99_us")]:
            host = real["fio"]["host"][job][metric]
            ratio = lambda driver: f'{real["fio"][driver][job][metric] / host:.2f}' if host else "n/a"  # noqa: E731
            goal_rows.append((f"real Nomad fio {job} {metric}: host / raw_exec / exec", f"{host} / {ratio('raw_exec')} / {ratio('exec')}", "", ""))
        host = real["pgbench"]["host"]["tps"]
        goal_rows.append(("real Nomad pgbench TPS: host / raw_exec / exec",
                          f'{host} / {real["pgbench"]["raw_exec"]["tps"] / host:.2f} / {real["pgbench"]["exec"]["tps"] / host:.2f}', "", ""))
    lines.append("\n".join(f"{a:<62} {b:>22} {c:>20} {d:>7}" for a, b, c, d in goal_rows))
    return "\n".join(lines)


def plots(document, samples, prefix):
    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for axis, (key, title, goal) in zip(axes, [
            ("pod_bound_to_job_registered", "pod bound → Nomad job registered", 50),
            ("allocation_running_to_pod_status_written", "allocation Running → pods/status written", 500)]):
        values = sorted(samples.get(key) or [])
        if values:
            axis.plot(values, [100 * (i + 1) / len(values) for i in range(len(values))])
            axis.axvline(goal, color="red", linestyle="--", label=f"goal p99 ≤ {goal} ms")
            axis.set_xscale("log")
        axis.set_title(title)
        axis.set_xlabel("ms (log scale)")
        axis.set_ylabel("% of pods (cumulative)")
        axis.legend()
    figure.suptitle(f'Agent-added latency, {document["mode"]} run, {document["machine"]["cores"]} cores, {document["date"]}')
    figure.tight_layout()
    figure.savefig(f"{prefix}-latency.png", dpi=90)
    plt.close(figure)

    counts = sorted(document["system"]["idle"], key=int)
    figure, axis = plt.subplots(figsize=(6, 4))
    axis.plot([int(c) for c in counts], [document["system"]["idle"][c]["rss_mb"] for c in counts], marker="o", label="RSS (MB)")
    axis.plot([int(c) for c in counts], [document["system"]["idle"][c]["cpu_percent"] for c in counts], marker="s", label="CPU at idle (% of a core)")
    axis.axhline(100, color="red", linestyle="--", label="goal RSS ≤ 100 MB")
    axis.set_xlabel("pods held on the node")
    axis.set_title(f'Agent cost vs pods, {document["mode"]} run, {document["date"]}')
    axis.legend()
    figure.tight_layout()
    figure.savefig(f"{prefix}-rss.png", dpi=90)
    plt.close(figure)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--micro", required=True)
    parser.add_argument("--system", required=True)
    parser.add_argument("--mode", required=True)
    parser.add_argument("--agent", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--plots", required=True)
    args = parser.parse_args()
    system = json.load(open(args.system))
    samples = system.pop("latency_samples_ms", {})
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    document = {
        "date": os.path.basename(args.out).removesuffix(".json"), "mode": args.mode, "commit": commit, "agent": args.agent,
        "machine": machine(), "micro": micro(args.micro), "system": system,
    }
    with open(args.out, "w") as out:
        json.dump(document, out, indent=1)
    plots(document, samples, args.plots)
    print(table(document))
    print(f"\nbench: wrote {args.out}, {args.plots}-latency.png, {args.plots}-rss.png")


if __name__ == "__main__":
    main()
