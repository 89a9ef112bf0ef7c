#!/usr/bin/env bash
# The benchmarks of issue 10, in one command on a fresh clone:
#
#   scripts/bench.sh [--quick] [--no-fio]
#
# 1. Micro-benchmarks (Benchmarks/, ordo-one/benchmark, release build in Benchmarks/.build):
#    translation, status mapping, decoding, SPDY, framed logs.
# 2. System benchmarks (scripts/bench/system.py) against the simulators, as real processes: cold
#    start, agent-added latency, create/delete throughput, RSS and CPU at idle with 0/100/1,000 pods,
#    streams (`kubectl logs -f` throughput and exec round trips: kubectl, the agent's kubelet
#    endpoint, Nomad directly), and disk I/O with fio and pgbench (host vs pseudo-container vs
#    overlayfs).
# Writes bench-results/<UTC date>.json (with the machine: cores, memory, kernel, Swift), prints a
# table (scripts/bench/report.py) and draws the plots as PNGs beside the JSON.
#
# --quick: CI's smoke mode (1 s per micro-benchmark, 10 then 50 pods, 10 one at a time, 2 s idle windows, 2 s fio
# jobs, 20 MB of logs, 100 exec round trips, 3 s pgbench runs); it fails when a benchmark breaks, never on a missed goal.
# --no-fio: without the disk benchmarks (fio and pgbench).
# The agent is .build/release/nomad-kubelet when scripts/build-deb.sh left it there (or
# $NOMAD_KUBELET_BIN), else it is built in release here. The simulators are a debug build in
# --quick mode (CI has it warm from the tests), else a release build ($NOMAD_KUBELET_SANDBOX_BIN
# overrides).
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0 fio=1
for argument in "$@"; do
    case "$argument" in
        --quick) quick=1 ;;
        --no-fio) fio=0 ;;
        *) echo "usage: scripts/bench.sh [--quick] [--no-fio]" >&2; exit 2 ;;
    esac
done
# Benchmarks/ depends on the root package by path; SwiftPM names that dependency after the clone's
# directory, which must then differ from "benchmarks" (the Benchmarks package's own name).
if [ "$(basename "$PWD" | tr '[:upper:]' '[:lower:]')" = benchmarks ]; then
    echo "bench: the checkout's directory is named '$(basename "$PWD")', which SwiftPM confuses with Benchmarks/; clone it under another name" >&2
    exit 1
fi

stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
results=bench-results
mkdir -p "$results"
work=$(mktemp -d /tmp/nomad-kubelet-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Tools: fio from Debian, matplotlib from PyPI in a virtualenv outside the repository.
if [ "$fio" = 1 ] && ! command -v fio >/dev/null; then
    echo "== installing fio"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fio >/dev/null) || { echo "bench: could not install fio (apt-get); rerun with --no-fio" >&2; exit 1; }
fi
if [ "$fio" = 1 ] && ! ls /usr/lib/postgresql/*/bin/pgbench >/dev/null 2>&1; then
    echo "== installing postgresql (pgbench)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) || { echo "bench: could not install postgresql (apt-get); rerun with --no-fio" >&2; exit 1; }
fi
# kubectl for the `kubectl logs -f` / `kubectl exec` rows (the tests' dependency; skipped with a note if absent).
scripts/install-test-deps.sh >/dev/null 2>&1 || true
export PATH="$HOME/.local/bin:$PATH"
venv=${NOMAD_KUBELET_BENCH_VENV:-$HOME/.cache/nomad-kubelet-bench/venv}
if ! "$venv/bin/python" -c 'import matplotlib' 2>/dev/null; then
    echo "== installing matplotlib into $venv"
    if ! python3 -m venv "$venv" 2>/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        python3 -m venv "$venv"
    fi
    "$venv/bin/pip" install -q matplotlib
fi

echo "== building (release: Benchmarks/)"
start=$(date +%s)
(cd Benchmarks && swift build -c release --product NomadKubeletBenchmarks)
agent=${NOMAD_KUBELET_BIN:-}
if [ -z "$agent" ] && [ -x .build/release/nomad-kubelet ]; then agent=$PWD/.build/release/nomad-kubelet; fi
if [ -z "$agent" ]; then
    (cd Benchmarks && swift build -c release --product nomad-kubelet)
    agent=$PWD/Benchmarks/.build/release/nomad-kubelet
fi
if [ -n "${NOMAD_KUBELET_SANDBOX_BIN:-}" ]; then
    sandbox=$NOMAD_KUBELET_SANDBOX_BIN
elif [ "$quick" = 1 ]; then
    swift build --product nomad-kubelet-sandbox
    sandbox=$(swift build --show-bin-path)/nomad-kubelet-sandbox
else
    (cd Benchmarks && swift build -c release --product nomad-kubelet-sandbox)
    sandbox=$PWD/Benchmarks/.build/release/nomad-kubelet-sandbox
fi
echo "bench: builds took $(( $(date +%s) - start ))s"

echo "== micro-benchmarks"
start=$(date +%s)
mkdir -p "$work/micro"
(cd Benchmarks && BENCH_QUICK=$([ "$quick" = 1 ] && echo 1 || true) swift package benchmark --no-progress --format jmh --path "$work/micro") \
    > "$work/micro.log" 2>&1 || { tail -40 "$work/micro.log" >&2; echo "bench: the micro-benchmarks failed" >&2; exit 1; }
echo "bench: micro-benchmarks took $(( $(date +%s) - start ))s"

echo "== system benchmarks (simulators: $sandbox; agent: $agent)"
start=$(date +%s)
system_args=(--agent "$agent" --sandbox "$sandbox" --out "$work/system.json")
if [ "$quick" = 1 ]; then system_args+=(--quick --small 10 --large 50 --serial 10 --idle-seconds 2); fi
if [ "$fio" = 0 ]; then system_args+=(--no-fio); fi
# A real Nomad client (its exec driver needs root and cgroups, which the simulator does not model):
# NOMAD_KUBELET_BENCH_REAL_NOMAD=http://127.0.0.1:4646 adds fio and pgbench under exec and raw_exec.
if [ -n "${NOMAD_KUBELET_BENCH_REAL_NOMAD:-}" ] && [ "$fio" = 1 ]; then system_args+=(--real-nomad "$NOMAD_KUBELET_BENCH_REAL_NOMAD"); fi
python3 scripts/bench/system.py "${system_args[@]}"
echo "bench: system benchmarks took $(( $(date +%s) - start ))s"

"$venv/bin/python" scripts/bench/report.py --micro "$work/micro" --system "$work/system.json" --mode "$([ "$quick" = 1 ] && echo quick || echo full)" \
    --agent "$agent" --out "$results/$stamp.json" --plots "$results/$stamp"
