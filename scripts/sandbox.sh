#!/usr/bin/env bash
# See nomad-kubelet work on a machine with no cluster: starts the test-support simulators of the
# Kubernetes API and of Nomad on loopback, runs the real agent (`nomad-kubelet run`) against them,
# applies examples/hello with the real kubectl and shows the pseudo-pods, their host processes, and
# `kubectl logs` / `kubectl exec` served by the agent's kubelet endpoint.
# Ctrl-C (or SANDBOX_EXIT=1 to stop after the demo) stops everything and leaves no process behind.
#
# With NOMAD_KUBELET_E2E=1, KUBECONFIG (a node identity or admin kubeconfig) and NOMAD_ADDR set, the
# agent runs against those real servers instead.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-deps.sh >/dev/null
export PATH="$HOME/.local/bin:$PATH"
swift build --product nomad-kubelet
swift build --product nomad-kubelet-sandbox
bin=$(swift build --show-bin-path)

state=$(mktemp -d /tmp/nomad-kubelet-sandbox.XXXXXX)
node=${NODE_NAME:-vk-sandbox}
pids=()
cleanup() {
    trap - EXIT INT TERM
    echo
    echo "== stopping"
    if [ -f "$state/admin.kubeconfig" ]; then
        kubectl --kubeconfig "$state/admin.kubeconfig" delete -k examples/hello --wait=true --timeout=30s >/dev/null 2>&1 || true
    fi
    for ((i=${#pids[@]}-1; i>=0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; wait "${pids[i]}" 2>/dev/null || true; done
    rm -rf "$state"
}
trap cleanup EXIT INT TERM

if [ "${NOMAD_KUBELET_E2E:-}" = 1 ] && [ -n "${KUBECONFIG:-}" ] && [ -n "${NOMAD_ADDR:-}" ]; then
    echo "== real servers: KUBECONFIG=$KUBECONFIG NOMAD_ADDR=$NOMAD_ADDR"
    cp "$KUBECONFIG" "$state/admin.kubeconfig"
    cat > "$state/agent.yaml" <<YAML
kubernetes:
  kubeconfig: $KUBECONFIG
node:
  name: $node
nomad:
  address: $NOMAD_ADDR
YAML
else
    echo "== starting the Kubernetes API and Nomad simulators (state in $state)"
    "$bin/nomad-kubelet-sandbox" --state-dir "$state" --node-name "$node" &
    pids+=($!)
    for _ in $(seq 1 100); do [ -f "$state/ready" ] && break; sleep 0.1; done
    [ -f "$state/ready" ] || { echo "sandbox: the simulators did not start"; exit 1; }
fi
export KUBECONFIG="$state/admin.kubeconfig"

echo "== starting the agent: nomad-kubelet run --config $state/agent.yaml (log: $state/agent.log)"
"$bin/nomad-kubelet" run --config "$state/agent.yaml" >"$state/agent.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do kubectl get node "$node" >/dev/null 2>&1 && break; sleep 0.2; done
kubectl wait --for=condition=Ready "node/$node" --timeout=60s >/dev/null
kubectl get nodes -o wide

echo "== kubectl apply -f manifests/runtimeclass.yaml -k examples/hello"
kubectl apply -f manifests/runtimeclass.yaml
kubectl apply -k examples/hello
kubectl rollout status deployment/hello --timeout=90s
kubectl get pods -o wide
echo "== the pseudo-containers are host processes:"
pgrep -af 'host process in Nomad allocation' || true
pod=$(kubectl get pods -l app=hello -o jsonpath='{.items[0].metadata.name}')
echo "== kubectl describe pod $pod (events)"
kubectl describe pod "$pod" | sed -n '/^Events:/,$p'
echo "== kubectl logs --tail=3 $pod (through the API server to the agent's kubelet endpoint, from Nomad's alloc logs)"
kubectl logs --tail=3 "$pod"
echo "== kubectl exec $pod -- sh -c 'echo ...' (SPDY to the agent, bridged to Nomad's alloc exec)"
kubectl exec "$pod" -- /bin/sh -c 'echo "inside allocation $NOMAD_ALLOC_ID as $(id -un), task dir $NOMAD_TASK_DIR"'
echo "== kubectl top is metrics-server's job; the agent serves /metrics/resource and /stats/summary for it"

if [ "${SANDBOX_EXIT:-}" = 1 ]; then exit 0; fi
echo "== running; KUBECONFIG=$KUBECONFIG. Press Ctrl-C to stop."
wait "${pids[0]}"
