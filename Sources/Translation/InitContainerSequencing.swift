import Foundation
import KubernetesModels
import NomadModels

/// Kubernetes ordering of init containers and sidecars on Nomad's lifecycle hooks.
///
/// Nomad (1.1.2, `allocrunner/task_hook_coordinator.go`) starts every `prestart` task at once and
/// starts the main tasks when each prestart sidecar has started and each other prestart task has
/// completed successfully. Kubernetes runs init containers one after the other: each regular one to
/// completion, each sidecar (`restartPolicy: Always`) started before the next entry. So every init
/// task gets a small POSIX shell wrapper that orders it through marker files in the allocation's
/// shared directory (`$NOMAD_ALLOC_DIR/nomad-kubelet-init/`), which survives task restarts and
/// disappears with the allocation:
/// - entry *i* waits for the marker of entry *i-1* (`done-<name>` of a regular init container,
///   `started-<name>` of a sidecar), polling every 0.2 s;
/// - a regular init container runs its program as a child, forwards the stop signal to it, and
///   writes `done-<name>` only when it exits 0 (a failure leaves no marker, so Nomad's restart
///   policy retries it and nothing after it starts);
/// - a sidecar writes `started-<name>` and `exec`s its program (it stays the task's process);
/// - when a sidecar waits for a regular init container, Nomad's own gate (the sidecar task has
///   started) opens before the sidecar's program does, so the main tasks also wait for every
///   `started-<sidecar>` marker before they `exec` their program.
/// A pod with a single init container needs no ordering and keeps its commands as they are.
public enum InitContainerSequencing {
    /// The directory of the markers, relative to `$NOMAD_ALLOC_DIR`.
    public static let markerDirectory = "nomad-kubelet-init"

    /// The `$0` of every wrapper, so `ps` shows what the shell is.
    static let wrapperName = "nomad-kubelet-init"

    /// Rewrites the commands of `tasks` (the init containers' tasks first, in spec order, then the
    /// main tasks) so they start in Kubernetes order. `initContainers` are the spec's.
    public static func sequence(_ tasks: [NomadTask], initContainers: [Container]) -> [NomadTask] {
        guard initContainers.count > 1, tasks.count >= initContainers.count else { return tasks }
        var result = tasks
        var previousMarker: String?
        var gatedSidecars: [String] = []
        for (index, container) in initContainers.enumerated() {
            let isSidecar = container.restartPolicy == "Always"
            if isSidecar {
                if previousMarker != nil { gatedSidecars.append(container.name) }
                result[index] = wrapped(result[index], script: sidecarScript(name: container.name, gate: previousMarker))
                previousMarker = "started-\(container.name)"
            } else {
                let signal = result[index].killSignal ?? "SIGTERM"
                result[index] = wrapped(result[index], script: initScript(name: container.name, gate: previousMarker, signal: signal))
                previousMarker = "done-\(container.name)"
            }
        }
        if !gatedSidecars.isEmpty {
            let script = mainScript(waitingFor: gatedSidecars.map { "started-\($0)" })
            for index in initContainers.count..<result.count {
                result[index] = wrapped(result[index], script: script)
            }
        }
        return result
    }

    /// The marker file a regular init container leaves once it completed (for tests and docs).
    public static func doneMarker(_ container: String) -> String { "\(markerDirectory)/done-\(container)" }

    // MARK: Scripts

    private static let prologue = #"d="$NOMAD_ALLOC_DIR/nomad-kubelet-init"; mkdir -p "$d" || exit 1; "#

    private static func waitFor(_ marker: String) -> String {
        #"while [ ! -e "$d/\#(marker)" ]; do sleep 0.2 2>/dev/null || sleep 1; done; "#
    }

    static func initScript(name: String, gate: String?, signal: String) -> String {
        let signalName = signal.hasPrefix("SIG") ? String(signal.dropFirst(3)) : signal
        return prologue + (gate.map(waitFor) ?? "")
            + #"trap 'kill -s \#(signalName) "$p" 2>/dev/null' \#(signalName); "#
            + #""$@" & p=$!; wait "$p"; s=$?; while kill -0 "$p" 2>/dev/null; do wait "$p"; s=$?; done; "#
            + #"if [ "$s" -eq 0 ]; then : > "$d/done-\#(name)"; fi; exit "$s""#
    }

    static func sidecarScript(name: String, gate: String?) -> String {
        prologue + (gate.map(waitFor) ?? "") + #": > "$d/started-\#(name)"; exec "$@""#
    }

    static func mainScript(waitingFor markers: [String]) -> String {
        prologue + markers.map(waitFor).joined() + #"exec "$@""#
    }

    private static func wrapped(_ task: NomadTask, script: String) -> NomadTask {
        var task = task
        guard let command = task.config?.command else { return task }
        var config = task.config ?? TaskConfig()
        config.command = "/bin/sh"
        config.args = ["-c", script, wrapperName, command] + (config.args ?? [])
        task.config = config
        return task
    }
}
