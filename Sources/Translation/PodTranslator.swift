import Foundation
import KubernetesModels
import NomadModels

/// Per-call inputs of a translation that are not in the Pod or the node configuration.
public struct TranslationOptions: Sendable, Hashable {
    /// The RuntimeClass handler of the Pod's `runtimeClassName`, resolved by the agent; when `nil`
    /// and the Pod names a RuntimeClass, the class name is taken as the handler (the shipped
    /// RuntimeClasses use their own name as handler).
    public var runtimeHandler: String?
    /// A grace period in seconds that replaces the Pod's when shorter: the Pod's
    /// `deletionGracePeriodSeconds` when it is being deleted (`kubectl delete --grace-period=5`).
    public var gracePeriodOverrideSeconds: Int64?
    /// Pins the job to this Nomad node ID (`${node.unique.id}` constraint), so a new job version
    /// (image change) restarts on the client that holds the Pod's data.
    public var pinnedNodeID: String?
    /// Container name → restart count it had before this job version; written to task Meta
    /// `k8s.restart-count-base` and added to Nomad's `Restarts` by ``PodStatusMapper``.
    public var restartCountBase: [String: Int]
    /// Pod volume name → its `persistentVolumeClaim` resolved by the agent to a bound
    /// nomad-kubelet volume; the job is pinned to that volume's client (``VolumeClaimTranslation``).
    public var claimVolumes: [String: ClaimVolume]

    /// Options; all empty by default.
    public init(
        runtimeHandler: String? = nil, gracePeriodOverrideSeconds: Int64? = nil, pinnedNodeID: String? = nil, restartCountBase: [String: Int] = [:],
        claimVolumes: [String: ClaimVolume] = [:]
    ) {
        self.runtimeHandler = runtimeHandler
        self.gracePeriodOverrideSeconds = gracePeriodOverrideSeconds
        self.pinnedNodeID = pinnedNodeID
        self.restartCountBase = restartCountBase
        self.claimVolumes = claimVolumes
    }
}

/// A Pod translated: the job to register and anything skipped on purpose.
public struct PodTranslation: Sendable, Hashable {
    /// The Nomad job; it passes ``NomadJobValidator``. It holds Secret values (env): never log it.
    public var job: Job
    /// ``job`` with every value that came from a Secret replaced by ``PodTranslator/redactedValue``:
    /// what `translate` prints, what may be logged, and what the agent hashes to detect spec changes
    /// (so a Secret or ConfigMap change does not restart a running pod, as in Kubernetes).
    public var redactedJob: Job
    /// The names tying the job to the Pod.
    public var identity: PodJobIdentity
    /// Fields deliberately not carried into the job, or carried without being enforced, for the
    /// agent to log and event (``TranslationProblem/eventReason`` names the Event's reason).
    public var warnings: [TranslationProblem]
    /// The configMap, secret, downwardAPI and projected volume files per task, which the agent keeps
    /// up to date in the running tasks (their first content is in the job's templates).
    public var volumeFiles: [VolumeFileSet] = []
}

/// Pod → Nomad job: one job (`service` for restartPolicy Always, else `batch`), one task group
/// `pod` with count 1, one task per container. Pure: no I/O, no clock; what the Pod references
/// (ConfigMaps, Secrets, PseudoImages) comes in a ``TranslationContext``. The full table of what
/// each Pod field becomes is in docs/pseudo-containers.md.
public struct PodTranslator: Sendable {
    /// The node configuration's knobs.
    public var policy: TranslationPolicy
    /// What images mean.
    public var imageResolver: ImageResolver

    /// Kubelet's floor on a kill grace period (`minimumGracePeriodInSeconds`).
    public static let minimumGracePeriodSeconds: Int64 = 2
    /// The projected volume the API server adds to every Pod that mounts a service-account token.
    static let serviceAccountVolumePrefix = "kube-api-access-"
    /// Pod annotation naming the Unix user the tasks run as (overrides the PseudoImage's user).
    public static let userAnnotation = "nomad-kubelet.io/user"
    /// Pod annotation naming the Nomad driver; honoured only with ``TranslationPolicy/allowDriverOverride``.
    public static let driverAnnotation = "nomad-kubelet.io/driver"
    /// What replaces a Secret's value in ``PodTranslation/redactedJob``.
    public static let redactedValue = "<redacted>"

    /// A translator for a node configuration.
    public init(policy: TranslationPolicy, imageResolver: ImageResolver = .standard) {
        self.policy = policy
        self.imageResolver = imageResolver
    }

    /// Translates `pod` with what it references in `context`, or throws
    /// ``TranslationError/podNotTranslatable(namespace:name:problems:)`` listing every problem (never
    /// a partial job; ``TranslationError/isTransient`` when only referenced objects are missing).
    public func translate(
        _ pod: Pod, context: TranslationContext = TranslationContext(), options: TranslationOptions = TranslationOptions()
    ) throws(TranslationError) -> PodTranslation {
        var translation = try translateOnce(pod, context: context, options: options)
        if !context.secrets.isEmpty || !context.serviceAccountTokens.isEmpty {
            var redacted = context
            redacted.serviceAccountTokens = context.serviceAccountTokens.mapValues { _ in Self.redactedValue }
            redacted.secrets = context.secrets.mapValues { secret in
                var secret = secret
                secret.data = secret.effectiveValues.mapValues { _ in Data(Self.redactedValue.utf8).base64EncodedString() }
                secret.stringData = nil
                return secret
            }
            translation.redactedJob = (try? translateOnce(pod, context: redacted, options: options).job) ?? Self.withoutEnvironment(translation.job)
        }
        return translation
    }

    /// `job` with every task's environment replaced by a redaction marker: the fallback should a
    /// redacted translation fail where the real one succeeded.
    private static func withoutEnvironment(_ job: Job) -> Job {
        var job = job
        job.taskGroups = job.taskGroups?.map { group in
            var group = group
            group.tasks = group.tasks?.map { task in
                var task = task
                task.env = task.env?.mapValues { _ in redactedValue }
                task.config = TaskConfig(command: redactedValue, args: [])
                return task
            }
            return group
        }
        return job
    }

    private func translateOnce(_ pod: Pod, context translationContext: TranslationContext, options: TranslationOptions) throws(TranslationError) -> PodTranslation {
        var problems: [TranslationProblem] = []
        var warnings: [TranslationProblem] = []
        func problem(_ field: String, _ kind: TranslationProblem.Kind, _ reason: String, _ fix: String) {
            problems.append(TranslationProblem(field: field, kind: kind, reason: reason, fix: fix))
        }

        let namespace = pod.metadata.namespace ?? ""
        let name = pod.metadata.name ?? ""
        let uid = pod.metadata.uid ?? ""
        for (field, value) in [("metadata.namespace", namespace), ("metadata.name", name), ("metadata.uid", uid)] where value.isEmpty {
            problem(field, .invalid, "the pod has no \(field.dropFirst("metadata.".count))", "translate pods as the API server returns them")
        }
        let identity = PodJobIdentity(namespace: namespace, name: name, uid: uid, nodeName: policy.nodeName)
        guard let spec = pod.spec else {
            problem("spec", .invalid, "the pod has no spec", "translate pods as the API server returns them")
            throw .podNotTranslatable(namespace: namespace, name: name, problems: problems)
        }

        // Pod-level fields.
        let restartPolicy = spec.restartPolicy ?? "Always"
        if !["Always", "OnFailure", "Never"].contains(restartPolicy) {
            problem("spec.restartPolicy", .invalid, "restartPolicy '\(restartPolicy)' is not Always, OnFailure or Never", "set one of the three")
        }
        if spec.containers.isEmpty {
            problem("spec.containers", .invalid, "the pod has no containers", "add at least one container")
        }
        if let grace = spec.terminationGracePeriodSeconds, grace < 0 {
            problem("spec.terminationGracePeriodSeconds", .invalid, "\(grace) is negative", "set 0 or more seconds")
        }
        if let deadline = spec.activeDeadlineSeconds, deadline < 1 {
            problem("spec.activeDeadlineSeconds", .invalid, "\(deadline) is not a positive number of seconds", "set 1 or more, or remove it")
        }
        if spec.resources != nil {
            problem("spec.resources", .notYetSupported, "pod-level resources are not translated yet", "set resources on each container instead")
        }
        if spec.hostUsers == false {
            problem("spec.hostUsers", .unsupported, "host processes cannot run in a user namespace", "remove hostUsers: false")
        }
        if !policy.allowPrivileged {
            for (field, requested) in [("spec.hostPID", spec.hostPID), ("spec.hostIPC", spec.hostIPC)] where requested == true {
                problem(field, .policy, "sharing the host's \(field.dropFirst(9)) namespace is privileged and this node does not allow it", "remove \(field.dropFirst(5)), or set policy.allowPrivileged on the node")
            }
        }
        let driver = resolveDriver(pod: pod, spec: spec, options: options, problem: problem)

        // Volumes: claims are the storage's (VolumeClaimTranslation); the automatic service-account
        // token volume is skipped (with a warning) when no token was obtained, e.g. by `translate`
        // without a cluster; every other volume is planned once and mounted per container.
        var skippedVolumes: Set<String> = []
        for (index, volume) in (spec.volumes ?? []).enumerated() {
            let field = "spec.volumes[\(index)]"
            if volume.name.hasPrefix(Self.serviceAccountVolumePrefix), let sources = volume.projected?.sources,
                sources.contains(where: { $0.serviceAccountToken.map { translationContext.serviceAccountTokens[ServiceAccountTokenKey($0)] == nil } ?? false })
            {
                skippedVolumes.insert(volume.name)
                warnings.append(
                    TranslationProblem(
                        field: field, kind: .notYetSupported,
                        reason: "the service-account token volume '\(volume.name)' is not provided: no token was obtained (translate without a cluster)",
                        fix: "set automountServiceAccountToken: false if the program does not use it"))
            } else if let claim = volume.persistentVolumeClaim {
                skippedVolumes.insert(volume.name)
                if options.claimVolumes[volume.name] == nil {
                    problem(
                        "\(field).persistentVolumeClaim", .policy, "claim '\(claim.claimName)' is not bound to a nomad-kubelet volume (a PV naming a Nomad client)",
                        "use a claim of the nomad-local StorageClass, or a PV with the nomad-kubelet.io/nomad-node-id annotation")
                }
            }
        }
        let volumes = VolumeTranslator(policy: policy, pod: pod, inputs: translationContext, driver: driver)
        var volumePlans = volumes.plan(skipping: skippedVolumes, report: problem)
        // A bound claim's directory is linked at each mount path like a hostPath's.
        for (name, claim) in options.claimVolumes where skippedVolumes.contains(name) {
            volumePlans[name] = .claim(directory: claim.placement.path)
            skippedVolumes.remove(name)
        }
        var volumeFiles: [VolumeFileSet] = []
        for item in VolumeClaimTranslation.problems(claims: options.claimVolumes, spec: spec, driver: driver, pinnedNodeID: options.pinnedNodeID) {
            problems.append(item)
        }

        // Containers: init containers first (Nomad prestart tasks), then the app containers.
        var usedNames: [String: String] = [:]
        var tasks: [NomadTask] = []
        var ports: [PortClaim] = []
        var ephemeralStorageBytes: Int64 = 0
        for (index, container) in (spec.initContainers ?? []).enumerated() {
            let field = "spec.initContainers[\(index)]"
            let isSidecar = container.restartPolicy == "Always"
            if let policy = container.restartPolicy, policy != "Always" {
                problem("\(field).restartPolicy", .invalid, "an init container's restartPolicy can only be Always", "remove it or set Always")
            }
            var context = ContainerContext(
                field: field, driver: driver, skippedVolumes: skippedVolumes, pod: pod, inputs: translationContext, volumes: volumes, volumePlans: volumePlans)
            context.isRegularInitContainer = !isSidecar
            if let task = translateContainer(container, context: &context, usedNames: &usedNames, options: options, spec: spec, problem: problem) {
                var task = task
                task.lifecycle = TaskLifecycle(hook: .prestart, sidecar: isSidecar)
                tasks.append(task)
            }
            warnings += context.warnings
            volumeFiles += context.volumeFiles
            ports += context.ports
            ephemeralStorageBytes = ephemeralStorageBytes.addingClamped(context.ephemeralStorageBytes)
        }
        for (index, container) in spec.containers.enumerated() {
            let field = "spec.containers[\(index)]"
            if container.restartPolicy != nil {
                problem("\(field).restartPolicy", .notYetSupported, "per-container restart policies are not supported yet", "remove restartPolicy from the container")
            }
            var context = ContainerContext(
                field: field, driver: driver, skippedVolumes: skippedVolumes, pod: pod, inputs: translationContext, volumes: volumes, volumePlans: volumePlans)
            if let task = translateContainer(container, context: &context, usedNames: &usedNames, options: options, spec: spec, problem: problem) {
                tasks.append(task)
            }
            warnings += context.warnings
            volumeFiles += context.volumeFiles
            ports += context.ports
            ephemeralStorageBytes = ephemeralStorageBytes.addingClamped(context.ephemeralStorageBytes)
        }
        let reservedPorts = reservePorts(ports, problem: problem)

        guard problems.isEmpty else { throw .podNotTranslatable(namespace: namespace, name: name, problems: problems) }
        tasks = InitContainerSequencing.sequence(tasks, initContainers: spec.initContainers ?? [])

        let diskMB = max(policy.defaultEphemeralDiskMB, Int(ceilDivide(ephemeralStorageBytes, 1 << 20)))
        var group = TaskGroup(
            name: PodJobIdentity.taskGroupName,
            count: 1,
            tasks: tasks,
            restartPolicy: restartPolicyFor(restartPolicy),
            reschedulePolicy: ReschedulePolicy(attempts: 0, unlimited: false),
            ephemeralDisk: EphemeralDisk(sizeMB: diskMB))
        if !reservedPorts.isEmpty { group.networks = [NetworkResource(reservedPorts: reservedPorts)] }
        if restartPolicy == "Always" {
            // Nomad's default update block, except that its progress deadline (10 min) must outlast the
            // kill timeout (Nomad 1.4+ refuses a longer kill_timeout), and health is the tasks' state.
            let killTimeout = NomadDuration.seconds(killTimeoutSeconds(spec: spec, options: options))
            group.update = UpdateStrategy(
                stagger: .seconds(30), maxParallel: 1, healthCheck: "task_states", minHealthyTime: .seconds(10), healthyDeadline: .seconds(300),
                progressDeadline: max(.seconds(600), NomadDuration(nanoseconds: killTimeout.nanoseconds + NomadDuration.seconds(300).nanoseconds)),
                autoRevert: false, autoPromote: false, canary: 0)
        }
        var job = Job(
            id: identity.jobID,
            name: identity.jobID,
            namespace: policy.namespace,
            type: restartPolicy == "Always" ? .service : .batch,
            region: policy.region,
            datacenters: policy.datacenters,
            priority: policy.priority,
            meta: identity.meta,
            taskGroups: [group])
        if let node = options.pinnedNodeID {
            job.constraints = [Constraint(lTarget: "${node.unique.id}", rTarget: node, operand: "=")]
        }
        VolumeClaimTranslation.apply(claims: options.claimVolumes, spec: spec, to: &job)
        let violations = NomadJobValidator.violations(of: job)
        guard violations.isEmpty else {
            throw .jobRejectedByValidator(
                jobID: identity.jobID,
                problems: violations.map {
                    TranslationProblem(field: $0.field, kind: .policy, reason: $0.message, fix: "check the node configuration's translation settings")
                })
        }
        return PodTranslation(job: job, redactedJob: job, identity: identity, warnings: warnings, volumeFiles: volumeFiles)
    }

    // MARK: - Pieces

    private typealias Report = (String, TranslationProblem.Kind, String, String) -> Void

    /// What translating one container collects besides its task.
    private struct ContainerContext {
        var field: String
        var driver: String
        var skippedVolumes: Set<String>
        var pod: Pod
        var inputs: TranslationContext
        var isRegularInitContainer = false
        var volumes: VolumeTranslator
        var volumePlans: [String: VolumeTranslator.Plan]
        var volumeFiles: [VolumeFileSet] = []
        var ports: [PortClaim] = []
        var ephemeralStorageBytes: Int64 = 0
        var warnings: [TranslationProblem] = []
    }

    /// A port a container asks for, before de-duplication.
    private struct PortClaim {
        var field: String
        var container: String
        var port: Int
        var proto: String
    }

    private func resolveDriver(pod: Pod, spec: PodSpec, options: TranslationOptions, problem: Report) -> String {
        if let override = pod.metadata.annotations?[Self.driverAnnotation] {
            let field = "metadata.annotations['\(Self.driverAnnotation)']"
            let known = Set(policy.driversByRuntimeHandler.values).union([policy.defaultDriver])
            if !policy.allowDriverOverride {
                problem(field, .policy, "this node does not allow choosing the driver by annotation", "remove the annotation and pick the driver with runtimeClassName")
            } else if !known.contains(override) {
                problem(field, .policy, "driver '\(override.debugDescription)' is not one this node uses", "use one of: \(known.sorted().joined(separator: ", "))")
            } else {
                return override
            }
        }
        guard let runtimeClass = spec.runtimeClassName else { return policy.defaultDriver }
        let handler = options.runtimeHandler ?? runtimeClass
        guard let driver = policy.driversByRuntimeHandler[handler] else {
            let known = policy.driversByRuntimeHandler.keys.sorted().joined(separator: ", ")
            problem(
                "spec.runtimeClassName", .policy, "RuntimeClass '\(runtimeClass)' (handler '\(handler)') has no Nomad driver in the node configuration",
                "use a RuntimeClass whose handler is one of: \(known)")
            return policy.defaultDriver
        }
        return driver
    }

    private func translateContainer(
        _ container: Container, context: inout ContainerContext, usedNames: inout [String: String], options: TranslationOptions,
        spec: PodSpec, problem: Report
    ) -> NomadTask? {
        let field = context.field
        var found: [TranslationProblem] = []
        func report(_ subfield: String, _ kind: TranslationProblem.Kind, _ reason: String, _ fix: String) {
            found.append(TranslationProblem(field: "\(field)\(subfield)", kind: kind, reason: reason, fix: fix))
        }

        if !Self.isDNSLabel(container.name) {
            report(".name", .invalid, "container name '\(container.name.debugDescription)' is not a DNS label (a-z, 0-9, '-', at most 63)", "rename the container")
        } else if let other = usedNames[container.name] {
            report(".name", .invalid, "container name '\(container.name)' is already used by \(other)", "give every container a unique name")
        } else {
            usedNames[container.name] = field
        }

        // Image and program.
        var resolution = ImageResolution()
        var imageResolved = false
        let image = container.image ?? ""
        switch imageResolver.resolve(image, context: context.inputs, policy: policy) {
        case .resolved(let resolved):
            resolution = resolved
            imageResolved = true
            for warning in resolved.warnings {
                context.warnings.append(
                    TranslationProblem(field: "\(field).image", kind: .policy, reason: warning, fix: "add a checksum to the PseudoImage tag", eventReason: "UnverifiedArtifact"))
            }
            if !resolved.allowedDrivers.isEmpty, !resolved.allowedDrivers.contains(context.driver) {
                report(
                    ".image", .policy, "image '\(image)' may run under \(resolved.allowedDrivers.joined(separator: ", ")), not \(context.driver)",
                    "pick a RuntimeClass whose driver the PseudoImage allows")
            }
        case .refused(let reason, let fix):
            report(".image", .unsupported, reason, fix)
        case .missing(let reason, let fix):
            report(".image", .missing, reason, fix)
        }

        // Environment (kubelet rules), then `$(VAR)` in command and args expanded against it.
        let environment = ContainerEnvironment(container: container, field: field, pod: context.pod, context: context.inputs, policy: policy)
        found += environment.problems
        context.warnings += environment.warnings
        let env = environment.values
        func expand(_ words: [String]?) -> [String]? { words?.map { VariableExpansion.expand($0) { env[$0] } } }
        let command = expand(container.command)
        let args = expand(container.args)
        let security = TaskSecurity(pod: context.pod, container: container, field: field, image: resolution, policy: policy)
        found += security.problems
        context.warnings += security.warnings

        let argv: [String]
        if let command, !command.isEmpty {
            argv = command + (args ?? [])
        } else if !resolution.defaultCommand.isEmpty {
            argv = resolution.defaultCommand + (args ?? resolution.defaultArgs)
        } else {
            argv = []
            if imageResolved {
                report(".command", .invalid, "image '\(image)' has no default program, so the container must set `command`", "set command to the program's absolute path and its arguments")
            }
        }
        for (index, word) in (container.command ?? []).enumerated() where word.contains("\0") {
            report(".command[\(index)]", .invalid, "contains a NUL character, which a process argument cannot hold", "remove it")
        }
        for (index, word) in (container.args ?? []).enumerated() where word.contains("\0") {
            report(".args[\(index)]", .invalid, "contains a NUL character, which a process argument cannot hold", "remove it")
        }
        if argv.first?.isEmpty == true {
            report(".command[0]", .invalid, "the program name is empty", "set command[0] to the program's path")
        }
        var config = TaskConfig(command: argv.first, args: Array(argv.dropFirst()))
        if let directory = container.workingDir, !directory.isEmpty {
            if !directory.hasPrefix("/") || directory.contains("\0") {
                report(".workingDir", .invalid, "'\(directory.debugDescription)' is not an absolute path", "set an absolute directory on the Nomad client")
            } else if let program = config.command {
                // `sh -c 'cd -- "$0" && exec "$@"' DIR PROGRAM ARGS...`: works with every Nomad version
                // (the driver's `work_dir` option needs Nomad 1.8) and leaves the program as the task's process.
                config = TaskConfig(command: "/bin/sh", args: ["-c", "cd -- \"$0\" && exec \"$@\"", directory, program] + (config.args ?? []))
            }
        }

        // Resources, ports, mounts, probes.
        let resources = translateResources(container.resources, field: field, context: &context, report: report)
        for (index, port) in (container.ports ?? []).enumerated() {
            let portField = ".ports[\(index)]"
            if port.containerPort < 1 || port.containerPort > 65535 {
                report("\(portField).containerPort", .invalid, "\(port.containerPort) is not a port number", "use 1-65535")
                continue
            }
            if let hostPort = port.hostPort, hostPort != 0, hostPort != port.containerPort {
                report("\(portField).hostPort", .unsupported, "host processes listen on the host, so hostPort \(hostPort) cannot differ from containerPort \(port.containerPort)", "set hostPort equal to containerPort or remove it")
            }
            if let hostIP = port.hostIP, !hostIP.isEmpty, hostIP != "0.0.0.0" {
                report("\(portField).hostIP", .notYetSupported, "binding to host IP \(hostIP) is not supported", "remove hostIP")
            }
            context.ports.append(PortClaim(field: "\(field)\(portField)", container: container.name, port: port.containerPort, proto: port.protocol ?? "TCP"))
        }
        let mounted = context.volumes.mounts(
            of: container, task: PodJobIdentity.taskName(forContainer: container.name), user: security.user, skipping: context.skippedVolumes,
            plans: context.volumePlans, report: report)
        if container.volumeDevices != nil {
            report(".volumeDevices", .unsupported, "raw block devices cannot be attached to host processes", "remove volumeDevices")
        }
        // Probes and hooks are run by the agent; only what it could not run is refused.
        found += ContainerHandlerValidation.problems(container, field: field, isRegularInitContainer: context.isRegularInitContainer)
        let killSignal = container.lifecycle?.stopSignal ?? "SIGTERM"
        if !Self.isSignalName(killSignal) {
            report(".lifecycle.stopSignal", .invalid, "'\(killSignal.debugDescription)' is not a signal name", "use a name like SIGTERM")
        }
        for item in found { problem(item.field, item.kind, item.reason, item.fix) }
        guard found.isEmpty else { return nil }

        let taskName = PodJobIdentity.taskName(forContainer: container.name)
        var task = NomadTask(name: taskName)
        task.driver = context.driver
        task.user = security.user
        task.config = mounted.wrap(config)
        task.env = env
        if !mounted.setupArguments.isEmpty { task.env?[VolumeSetup.rootVariable] = "${NOMAD_TASK_DIR}/.." }
        if !mounted.templates.isEmpty { task.templates = mounted.templates }
        context.volumeFiles += mounted.fileSets
        task.resources = resources
        task.killTimeout = .seconds(killTimeoutSeconds(spec: spec, options: options))
        task.killSignal = killSignal
        task.logConfig = LogConfig(maxFiles: policy.logMaxFiles, maxFileSizeMB: policy.logMaxFileSizeMB)
        if !resolution.artifacts.isEmpty { task.artifacts = resolution.artifacts }
        if let base = options.restartCountBase[container.name], base > 0 {
            task.meta = [PodJobIdentity.restartCountBaseMetaKey: String(base)]
        }
        return task
    }

    private func translateResources(_ requirements: ResourceRequirements?, field: String, context: inout ContainerContext, report: Report) -> Resources {
        let requests = requirements?.requests ?? [:]
        let limits = requirements?.limits ?? [:]
        for (kind, values) in [("requests", requests), ("limits", limits)] {
            for (resource, quantity) in values.sorted(by: { $0.key < $1.key }) {
                if !["cpu", "memory", "ephemeral-storage"].contains(resource) {
                    report(".resources.\(kind).\(resource)", .unsupported, "Nomad cannot provide '\(resource)' to a host process", "remove it")
                } else if quantity.decimalValue < 0 {
                    report(".resources.\(kind).\(resource)", .invalid, "\(quantity) is negative", "use a positive quantity")
                }
            }
        }
        if let request = requests["cpu"], let limit = limits["cpu"], request.decimalValue > limit.decimalValue {
            report(".resources.requests.cpu", .invalid, "request \(request) exceeds limit \(limit)", "lower the request")
        }
        if let request = requests["memory"], let limit = limits["memory"], request.decimalValue > limit.decimalValue {
            report(".resources.requests.memory", .invalid, "request \(request) exceeds limit \(limit)", "lower the request")
        }
        var resources = Resources()
        if let cpu = requests["cpu"] ?? limits["cpu"] {
            let mhz = ceilDivide(max(0, cpu.milliValue).multipliedClamped(by: Int64(policy.cpuMHzPerCore)), 1000)
            resources.cpu = Int(clamping: max(1, mhz))
        } else {
            resources.cpu = policy.defaultCPUMHz
        }
        let megabyte: Int64 = 1 << 20
        if let memory = requests["memory"] ?? limits["memory"] {
            resources.memoryMB = Int(clamping: max(10, ceilDivide(max(0, memory.value), megabyte)))
            if let limit = limits["memory"] {
                let limitMB = Int(clamping: ceilDivide(max(0, limit.value), megabyte))
                if limitMB > resources.memoryMB! { resources.memoryMaxMB = limitMB }
            }
        } else {
            resources.memoryMB = policy.defaultMemoryMB
        }
        if let storage = requests["ephemeral-storage"] ?? limits["ephemeral-storage"] {
            context.ephemeralStorageBytes = max(0, storage.value)
        }
        return resources
    }

    /// One static port per number; the same number twice with the same protocol is a conflict.
    private func reservePorts(_ claims: [PortClaim], problem: Report) -> [NomadModels.Port] {
        var seen: [String: PortClaim] = [:]
        var numbers: [Int] = []
        for claim in claims {
            let key = "\(claim.port)/\(claim.proto)"
            if let other = seen[key] {
                problem(
                    claim.field, .invalid, "port \(claim.port)/\(claim.proto) is already claimed by \(other.field); one host cannot bind it twice",
                    "remove the duplicate port")
                continue
            }
            seen[key] = claim
            if !numbers.contains(claim.port) { numbers.append(claim.port) }
        }
        return numbers.map { NomadModels.Port(label: "port-\($0)", value: $0) }
    }

    private func restartPolicyFor(_ restartPolicy: String) -> RestartPolicy {
        let interval = NomadDuration(policy.restartInterval)
        if restartPolicy == "Never" {
            return RestartPolicy(attempts: 0, interval: interval, delay: NomadDuration(policy.restartDelay), mode: .fail)
        }
        return RestartPolicy(attempts: policy.restartAttempts, interval: interval, delay: NomadDuration(policy.restartDelay), mode: .delay)
    }

    private func killTimeoutSeconds(spec: PodSpec, options: TranslationOptions) -> Int64 {
        var grace = spec.terminationGracePeriodSeconds ?? policy.defaultTerminationGracePeriodSeconds
        if let override = options.gracePeriodOverrideSeconds, override < grace { grace = override }
        return min(max(grace, Self.minimumGracePeriodSeconds), Int64(Int32.max))
    }

    static func isDNSLabel(_ name: String) -> Bool {
        let scalars = Array(name.unicodeScalars)
        guard (1...63).contains(scalars.count) else { return false }
        func alphanumeric(_ scalar: Unicode.Scalar) -> Bool { ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) }
        return alphanumeric(scalars.first!) && alphanumeric(scalars.last!) && scalars.allSatisfy { alphanumeric($0) || $0 == "-" }
    }

    static func isSignalName(_ name: String) -> Bool {
        name.hasPrefix("SIG") && name.count > 3 && name.count <= 16 && name.unicodeScalars.allSatisfy { ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "+" }
    }
}

private func ceilDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
    value / divisor + (value % divisor > 0 ? 1 : 0)
}

extension Int64 {
    fileprivate func addingClamped(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? .max : sum
    }

    fileprivate func multipliedClamped(by other: Int64) -> Int64 {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        return overflow ? .max : product
    }
}
