import Foundation
import KubernetesModels

/// Checks a container's probes and lifecycle hooks. The agent runs them (they do not become part
/// of the Nomad job), so translation only refuses what the agent could not run.
enum ContainerHandlerValidation {
    /// Every problem with `container`'s probes and `lifecycle` handlers; `field` is the container's path.
    static func problems(_ container: Container, field: String, isRegularInitContainer: Bool) -> [TranslationProblem] {
        var found: [TranslationProblem] = []
        func report(_ subfield: String, _ kind: TranslationProblem.Kind, _ reason: String, _ fix: String) {
            found.append(TranslationProblem(field: "\(field)\(subfield)", kind: kind, reason: reason, fix: fix))
        }
        let probes: [(String, Probe?)] = [
            ("livenessProbe", container.livenessProbe), ("readinessProbe", container.readinessProbe), ("startupProbe", container.startupProbe),
        ]
        for (name, probe) in probes {
            guard let probe else { continue }
            if isRegularInitContainer {
                report(".\(name)", .invalid, "an init container runs to completion, so it cannot have a \(name)", "remove it, or make the container a sidecar (restartPolicy: Always)")
                continue
            }
            let handlers = [probe.exec != nil, probe.httpGet != nil, probe.tcpSocket != nil, probe.grpc != nil].filter { $0 }.count
            if handlers != 1 {
                report(".\(name)", .invalid, "a probe needs exactly one of exec, httpGet, tcpSocket or grpc (it has \(handlers))", "keep one handler")
            }
            if let exec = probe.exec { checkExec(exec, ".\(name).exec", report) }
            if let httpGet = probe.httpGet { checkHTTPGet(httpGet, ".\(name).httpGet", container, report) }
            if let tcpSocket = probe.tcpSocket { checkPort(tcpSocket.port, ".\(name).tcpSocket.port", container, report) }
            if let grpc = probe.grpc, !(1...65535).contains(grpc.port) {
                report(".\(name).grpc.port", .invalid, "\(grpc.port) is not a port number", "use 1-65535")
            }
            let timings: [(String, Int?, Int)] = [
                ("initialDelaySeconds", probe.initialDelaySeconds, 0), ("periodSeconds", probe.periodSeconds, 1), ("timeoutSeconds", probe.timeoutSeconds, 1),
                ("successThreshold", probe.successThreshold, 1), ("failureThreshold", probe.failureThreshold, 1),
            ]
            for (timing, value, minimum) in timings where (value ?? minimum) < minimum {
                report(".\(name).\(timing)", .invalid, "\(value ?? 0) is below \(minimum)", "set \(minimum) or more")
            }
            if name != "readinessProbe", let success = probe.successThreshold, success != 1 {
                report(".\(name).successThreshold", .invalid, "must be 1 for a \(name)", "set 1 or remove it")
            }
        }
        let hooks: [(String, LifecycleHandler?)] = [("postStart", container.lifecycle?.postStart), ("preStop", container.lifecycle?.preStop)]
        for (name, hook) in hooks {
            guard let hook else { continue }
            let hookField = ".lifecycle.\(name)"
            if isRegularInitContainer {
                report(hookField, .invalid, "an init container cannot have lifecycle hooks", "remove the hook")
                continue
            }
            let handlers = [hook.exec != nil, hook.httpGet != nil, hook.tcpSocket != nil, hook.sleep != nil].filter { $0 }.count
            if handlers != 1 {
                report(hookField, .invalid, "a lifecycle hook needs exactly one of exec, httpGet or sleep (it has \(handlers))", "keep one handler")
            }
            if hook.tcpSocket != nil {
                report("\(hookField).tcpSocket", .unsupported, "Kubernetes does not run tcpSocket lifecycle hooks", "use exec, httpGet or sleep")
            }
            if let exec = hook.exec { checkExec(exec, "\(hookField).exec", report) }
            if let httpGet = hook.httpGet { checkHTTPGet(httpGet, "\(hookField).httpGet", container, report) }
            if let sleep = hook.sleep, sleep.seconds < 0 {
                report("\(hookField).sleep.seconds", .invalid, "\(sleep.seconds) is negative", "set 0 or more seconds")
            }
        }
        return found
    }

    private typealias Report = (String, TranslationProblem.Kind, String, String) -> Void

    private static func checkExec(_ exec: ExecAction, _ field: String, _ report: Report) {
        let command = exec.command ?? []
        if command.isEmpty || command[0].isEmpty {
            report("\(field).command", .invalid, "the command is empty", "set the program and its arguments")
        }
        for (index, word) in command.enumerated() where word.contains("\0") {
            report("\(field).command[\(index)]", .invalid, "contains a NUL character, which a process argument cannot hold", "remove it")
        }
    }

    private static func checkHTTPGet(_ action: HTTPGetAction, _ field: String, _ container: Container, _ report: Report) {
        checkPort(action.port, "\(field).port", container, report)
        if let scheme = action.scheme, !["HTTP", "HTTPS"].contains(scheme) {
            report("\(field).scheme", .invalid, "'\(scheme)' is not HTTP or HTTPS", "use HTTP or HTTPS")
        }
        for (index, header) in (action.httpHeaders ?? []).enumerated()
        where header.name.isEmpty || header.name.contains(where: { $0 == ":" || $0.isWhitespace || $0.isNewline }) || header.value.contains(where: \.isNewline) {
            report("\(field).httpHeaders[\(index)]", .invalid, "'\(header.name.debugDescription)' is not a valid HTTP header", "use a token name and a one-line value")
        }
    }

    private static func checkPort(_ port: IntOrString, _ field: String, _ container: Container, _ report: Report) {
        if ProbeTarget.port(port, in: container) == nil {
            report(field, .invalid, "port '\(port)' is neither a number in 1-65535 nor the name of a port of the container", "use a port number or a name from ports[].name")
        }
    }
}

/// Where the agent sends a probe or hook (shared by validation and the agent).
public enum ProbeTarget {
    /// The port number `port` means for `container`: a number in 1-65535, or the `containerPort` of
    /// the port with that name; `nil` when neither.
    public static func port(_ port: IntOrString, in container: Container) -> Int? {
        switch port {
        case .int(let number):
            return (1...65535).contains(number) ? number : nil
        case .string(let name):
            if let number = Int(name), (1...65535).contains(number) { return number }
            return container.ports?.first { $0.name == name }?.containerPort
        }
    }
}
