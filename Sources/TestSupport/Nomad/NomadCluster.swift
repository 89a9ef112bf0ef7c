import Foundation
import Logging

/// The simulated Nomad server and clients: jobs, evaluations, allocations, nodes, the Raft-like
/// index, the event log and blocking-query wake-ups. Task execution is delegated to one
/// `AllocationRunner` per allocation.
actor NomadCluster {
    let configuration: NomadSimulator.Configuration
    let dataDirectory: URL
    let logger: Logger

    private(set) var index: UInt64 = 1
    private var tableIndex: [String: UInt64] = [:]
    private(set) var nodes: [NodeRecord] = []
    private var jobs: [String: JobRecord] = [:]
    private var evaluations: [String: WireJSON] = [:]
    private(set) var allocations: [String: AllocationRecord] = [:]
    private var allocationOrder: [String] = []
    /// Allocation IDs per job key (`namespace/job`), oldest first: a job's allocations without a
    /// scan of every allocation (the agent asks for them on every reconcile).
    private var allocationOrderByJob: [String: [String]] = [:]
    private var runners: [String: AllocationRunner] = [:]
    private var blockedEvaluations: [String: String] = [:]  // job key -> blocked eval id
    /// Every event batch ever emitted, oldest first.
    private(set) var eventLog: [(index: UInt64, events: [WireJSON])] = []
    private var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]
    private var shuttingDown = false
    /// Variables (Nomad 1.4+) by namespace, then path.
    private var variables: [String: [String: VariableRecord]] = [:]

    init(configuration: NomadSimulator.Configuration, dataDirectory: URL, logger: Logger) {
        self.configuration = configuration
        self.dataDirectory = dataDirectory
        self.logger = logger
        let now = Int64(Date().timeIntervalSince1970)
        for node in configuration.nodes {
            let id = UUID().uuidString.lowercased()
            nodes.append(
                NodeRecord(
                    id: id, config: node, createIndex: 1, modifyIndex: 1, statusUpdatedAt: now,
                    events: [["CreateIndex": 0, "Details": nil, "Message": "Node registered", "Subsystem": "Cluster", "Timestamp": .string(NomadTime.rfc3339(nanos: now * 1_000_000_000))]]
                ))
        }
        tableIndex["nodes"] = 1
        eventLog = nodes.map { node in
            (1, [Self.event(topic: "Node", type: "NodeRegistration", key: node.id, namespace: "", index: 1, filterKeys: nil, payload: ["Node": node.json()])])
        }
    }

    // MARK: Variables storage

    fileprivate func variablesStore(_ namespace: String) -> [String: VariableRecord] { variables[namespace] ?? [:] }
    fileprivate func setVariable(namespace: String, path: String, _ record: VariableRecord?) { variables[namespace, default: [:]][path] = record }
    fileprivate func bumpVariables() -> UInt64 { bump("variables") }

    // MARK: Index, events, blocking queries

    /// The index of a table (`jobs`, `allocs`, `evals`, `nodes`), or the latest index.
    func index(of table: String) -> UInt64 { tableIndex[table] ?? index }

    private func bump(_ tables: String...) -> UInt64 {
        index += 1
        for table in tables { tableIndex[table] = index }
        return index
    }

    private func publish(_ events: [WireJSON], at eventIndex: UInt64) {
        if !events.isEmpty { eventLog.append((eventIndex, events)) }
        let pending = waiters
        waiters.removeAll()
        for (_, continuation) in pending { continuation.resume() }
    }

    /// Waits until any state changes or `deadline` passes.
    func waitForChange(until deadline: ContinuousClock.Instant) async {
        let id = UUID()
        let timer = Task { [weak self] in
            try? await Task.sleep(until: deadline, clock: .continuous)
            await self?.wake(id)
        }
        await withCheckedContinuation { continuation in
            waiters[id] = continuation
        }
        timer.cancel()
    }

    private func wake(_ id: UUID) {
        waiters.removeValue(forKey: id)?.resume()
    }

    /// Event batches with an index at or above `from`.
    func events(from: UInt64, after position: Int) -> (batches: [(index: UInt64, events: [WireJSON])], position: Int) {
        let slice = eventLog[min(position, eventLog.count)...].filter { $0.index >= from }
        return (Array(slice), eventLog.count)
    }

    static func event(
        topic: String, type: String, key: String, namespace: String, index: UInt64, filterKeys: [String]?, payload: WireJSON
    ) -> WireJSON {
        [
            "FilterKeys": filterKeys.map { .array($0.map(WireJSON.string)) } ?? nil, "Index": .int(Int64(index)),
            "Key": .string(key), "Namespace": .string(namespace), "Payload": payload, "Topic": .string(topic), "Type": .string(type),
        ]
    }

    private func allocationEvent(_ alloc: AllocationRecord, type: String, index: UInt64) -> WireJSON {
        Self.event(
            topic: "Allocation", type: type, key: alloc.id, namespace: alloc.namespace, index: index,
            filterKeys: [alloc.jobID, alloc.deploymentID], payload: ["Allocation": alloc.json(includeJob: false)])
    }

    private func evaluationEvent(_ eval: WireJSON, type: String, index: UInt64) -> WireJSON {
        Self.event(
            topic: "Evaluation", type: type, key: eval["ID"]?.string ?? "", namespace: eval["Namespace"]?.string ?? "default",
            index: index, filterKeys: [eval["JobID"]?.string ?? "", eval["DeploymentID"]?.string ?? ""],
            payload: ["Evaluation": eval])
    }

    private func jobEvent(_ job: JobRecord, type: String, index: UInt64) -> WireJSON {
        Self.event(
            topic: "Job", type: type, key: job.spec.id, namespace: job.spec.namespace, index: index, filterKeys: nil,
            payload: ["Job": job.rendered()])
    }

    // MARK: Reads

    func node(id: String) -> NodeRecord? { nodes.first { $0.id == id || $0.config.name == id } }

    func job(namespace: String, id: String) -> JobRecord? { jobs[Self.key(namespace, id)] }

    func jobList(namespace: String, prefix: String) -> [JobRecord] {
        jobs.values.filter { ($0.spec.namespace == namespace || namespace == "*") && $0.spec.id.hasPrefix(prefix) }
            .sorted { $0.spec.id < $1.spec.id }
    }

    func allocation(id: String) -> AllocationRecord? {
        if let found = allocations[id] { return found }
        let matches = allocations.values.filter { $0.id.hasPrefix(id) }
        return matches.count == 1 ? matches[0] : nil
    }

    func allocationList(jobNamespace: String? = nil, jobID: String? = nil, prefix: String = "") -> [AllocationRecord] {
        guard let jobID else { return allocationOrder.compactMap { allocations[$0] }.filter { $0.id.hasPrefix(prefix) } }
        guard let jobNamespace else { return [] }
        return (allocationOrderByJob[Self.key(jobNamespace, jobID)] ?? []).compactMap { allocations[$0] }.filter { $0.id.hasPrefix(prefix) }
    }

    func evaluation(id: String) -> WireJSON? { evaluations[id] }

    func evaluations(namespace: String, jobID: String) -> [WireJSON] {
        evaluations.values.filter { $0["JobID"]?.string == jobID && $0["Namespace"]?.string == namespace }
            .sorted { ($0["CreateIndex"]?.int ?? 0) > ($1["CreateIndex"]?.int ?? 0) }
    }

    func summary(for job: JobRecord) -> WireJSON {
        var groups: [String: WireJSON] = [:]
        let allocs = allocationList(jobNamespace: job.spec.namespace, jobID: job.spec.id)
        let blocked = blockedEvaluations[Self.key(job.spec.namespace, job.spec.id)].flatMap { evaluations[$0] }
        var modifyIndex = job.createIndex
        for group in job.spec.groups {
            var counts = ["Complete": 0, "Failed": 0, "Lost": 0, "Queued": 0, "Running": 0, "Starting": 0]
            for alloc in allocs where alloc.taskGroup == group.name {
                modifyIndex = max(modifyIndex, alloc.modifyIndex)
                switch alloc.clientStatus {
                case "running": counts["Running", default: 0] += 1
                case "complete": counts["Complete", default: 0] += 1
                case "failed": counts["Failed", default: 0] += 1
                case "lost": counts["Lost", default: 0] += 1
                default: counts["Starting", default: 0] += 1
                }
            }
            if let queued = blocked?["QueuedAllocations"]?[group.name]?.int {
                counts["Queued"] = Int(queued)
                modifyIndex = max(modifyIndex, UInt64(blocked?["ModifyIndex"]?.int ?? 0))
            }
            groups[group.name] = .object(counts.mapValues { .number($0) })
        }
        return [
            "Children": ["Dead": 0, "Pending": 0, "Running": 0], "CreateIndex": .int(Int64(job.createIndex)),
            "JobID": .string(job.spec.id), "ModifyIndex": .int(Int64(modifyIndex)), "Namespace": .string(job.spec.namespace),
            "Summary": .object(groups),
        ]
    }

    func runner(for allocationID: String) -> AllocationRunner? { runners[allocationID] }

    static func key(_ namespace: String, _ id: String) -> String { "\(namespace)/\(id)" }

    // MARK: Writes

    /// The result of a job registration or deregistration.
    struct WriteResult: Sendable {
        var evalID: String
        var index: UInt64
        var jobModifyIndex: UInt64
    }

    /// Registers (creates or updates) a canonical, validated job and schedules it.
    func register(_ canonical: WireJSON, enforceIndex: Bool, jobModifyIndex: UInt64) throws(NomadHTTPError) -> WriteResult {
        let spec = JobSpec(canonical: canonical)
        let key = Self.key(spec.namespace, spec.id)
        let existing = jobs[key]
        if enforceIndex {
            if let existing {
                if jobModifyIndex != existing.jobModifyIndex {
                    throw NomadHTTPError(
                        status: 500,
                        message: "Enforcing job modify index \(jobModifyIndex): job exists with conflicting job modify index: \(existing.jobModifyIndex)")
                }
            } else if jobModifyIndex != 0 {
                throw NomadHTTPError(status: 500, message: "Enforcing job modify index \(jobModifyIndex): job not found")
            }
        }
        let writeIndex = bump("jobs", "evals")
        var record: JobRecord
        if let existing, !existing.stop, existing.json == canonical {
            // Nomad keeps the version and JobModifyIndex when the spec did not change.
            record = existing
            record.modifyIndex = writeIndex
        } else {
            record = JobRecord(
                json: canonical, spec: spec, createIndex: existing?.createIndex ?? writeIndex, modifyIndex: writeIndex,
                jobModifyIndex: writeIndex, version: existing.map { $0.version + 1 } ?? 0, submitTime: NomadTime.nowNanos())
            record.status = existing == nil ? "pending" : existing?.status ?? "pending"
        }
        jobs[key] = record
        let eval = newEvaluation(job: record, triggeredBy: "job-register", index: writeIndex)
        publish([jobEvent(record, type: "JobRegistered", index: writeIndex), evaluationEvent(eval, type: "JobRegistered", index: writeIndex)], at: writeIndex)
        schedule(jobKey: key, evalID: eval["ID"]?.string ?? "")
        return WriteResult(evalID: eval["ID"]?.string ?? "", index: writeIndex, jobModifyIndex: record.jobModifyIndex)
    }

    /// Stops a job (and purges it when asked), killing its allocations.
    func deregister(namespace: String, id: String, purge: Bool) throws(NomadHTTPError) -> WriteResult {
        let key = Self.key(namespace, id)
        guard var record = jobs[key] else { throw NomadHTTPError(status: 404, message: "job not found") }
        let writeIndex = bump("jobs", "evals")
        record.stop = true
        record.status = "dead"
        record.modifyIndex = writeIndex
        record.jobModifyIndex = writeIndex
        if purge { jobs.removeValue(forKey: key) } else { jobs[key] = record }
        let eval = newEvaluation(job: record, triggeredBy: "job-deregister", index: writeIndex)
        publish([jobEvent(record, type: "JobDeregistered", index: writeIndex), evaluationEvent(eval, type: "JobDeregistered", index: writeIndex)], at: writeIndex)
        if let blocked = blockedEvaluations.removeValue(forKey: key) { evaluations[blocked]?["Status"] = "cancelled" }
        stopAllocations(of: record, description: "alloc not needed due to job update")
        completeEvaluation(eval["ID"]?.string ?? "", failed: [:], queued: [:])
        return WriteResult(evalID: eval["ID"]?.string ?? "", index: writeIndex, jobModifyIndex: writeIndex)
    }

    /// Stops one allocation (the job's scheduler then replaces it).
    func stopAllocation(id: String) throws(NomadHTTPError) -> WriteResult {
        guard let alloc = allocations[id] else { throw NomadHTTPError(status: 404, message: "alloc not found") }
        let writeIndex = bump("allocs", "evals")
        var updated = alloc
        updated.desiredStatus = "stop"
        updated.desiredDescription = "alloc is being migrated"
        updated.modifyIndex = writeIndex
        updated.allocModifyIndex = writeIndex
        allocations[id] = updated
        runners[id]?.stop()
        var evalID = UUID().uuidString.lowercased()
        if let job = jobs[Self.key(alloc.namespace, alloc.jobID)] {
            let eval = newEvaluation(job: job, triggeredBy: "alloc-stop", index: writeIndex)
            evalID = eval["ID"]?.string ?? evalID
            publish([allocationEvent(updated, type: "AllocationUpdateDesiredStatus", index: writeIndex), evaluationEvent(eval, type: "AllocationUpdateDesiredStatus", index: writeIndex)], at: writeIndex)
            schedule(jobKey: Self.key(alloc.namespace, alloc.jobID), evalID: evalID, excluding: [id])
        } else {
            publish([allocationEvent(updated, type: "AllocationUpdateDesiredStatus", index: writeIndex)], at: writeIndex)
        }
        return WriteResult(evalID: evalID, index: writeIndex, jobModifyIndex: 0)
    }

    /// Marks a node down (its allocations become lost, their processes are killed) or up again.
    func setNodeDown(_ name: String, _ down: Bool) {
        guard let position = nodes.firstIndex(where: { $0.config.name == name || $0.id == name }) else { return }
        let writeIndex = bump("nodes")
        nodes[position].status = down ? "down" : "ready"
        nodes[position].modifyIndex = writeIndex
        nodes[position].statusUpdatedAt = Int64(Date().timeIntervalSince1970)
        let message = down ? "Node heartbeat missed" : "Node reregistered by heartbeat"
        nodes[position].events.append(
            ["CreateIndex": .int(Int64(writeIndex)), "Details": nil, "Message": .string(message), "Subsystem": "Cluster", "Timestamp": .string(NomadTime.rfc3339(nanos: NomadTime.nowNanos()))])
        let node = nodes[position]
        publish([Self.event(topic: "Node", type: "NodeStreamEvent", key: node.id, namespace: "", index: writeIndex, filterKeys: nil, payload: ["Node": node.json()])], at: writeIndex)
        if down {
            var affectedJobs: Set<String> = []
            for alloc in allocations.values where alloc.nodeID == node.id && !alloc.isTerminal {
                let lostIndex = bump("allocs")
                var lost = alloc
                lost.clientStatus = "lost"
                lost.clientDescription = "alloc is lost since its node is down"
                lost.desiredStatus = "stop"
                lost.desiredDescription = "alloc is lost since its node is down"
                lost.modifyIndex = lostIndex
                allocations[alloc.id] = lost
                runners[alloc.id]?.abandon()
                publish([allocationEvent(lost, type: "AllocationUpdated", index: lostIndex)], at: lostIndex)
                affectedJobs.insert(Self.key(alloc.namespace, alloc.jobID))
            }
            for key in affectedJobs.sorted() {
                if let job = jobs[key] {
                    let evalIndex = bump("evals")
                    let eval = newEvaluation(job: job, triggeredBy: "node-update", index: evalIndex)
                    publish([evaluationEvent(eval, type: "EvaluationUpdated", index: evalIndex)], at: evalIndex)
                    schedule(jobKey: key, evalID: eval["ID"]?.string ?? "")
                }
            }
        } else {
            retryBlocked()
        }
    }

    /// Called by a runner whenever a task's state changes.
    /// The tasks of an allocation that are not dead.
    func liveTasks(allocationID: String) -> Set<String> {
        Set((allocations[allocationID]?.taskStates ?? [:]).filter { $0.value.state != "dead" }.keys)
    }

    func updateTaskState(allocationID: String, task: String, _ change: @Sendable (inout TaskStateRecord) -> Void) {
        guard var alloc = allocations[allocationID], alloc.clientStatus != "lost" else { return }
        change(&alloc.taskStates[task, default: TaskStateRecord()])
        let before = alloc.clientStatus
        alloc.updateClientStatus()
        let writeIndex = bump("allocs")
        alloc.modifyIndex = writeIndex
        alloc.modifyTime = NomadTime.nowNanos()
        allocations[allocationID] = alloc
        publish([allocationEvent(alloc, type: "AllocationUpdated", index: writeIndex)], at: writeIndex)
        if before != alloc.clientStatus { updateJobStatus(Self.key(alloc.namespace, alloc.jobID)) }
        if alloc.clientStatus != before, ["complete", "failed"].contains(alloc.clientStatus) { retryBlocked() }
    }

    // MARK: Scheduling

    private func newEvaluation(job: JobRecord, triggeredBy: String, index writeIndex: UInt64) -> WireJSON {
        let id = UUID().uuidString.lowercased()
        let now = NomadTime.nowNanos()
        let eval: WireJSON = [
            "CreateIndex": .int(Int64(writeIndex)), "CreateTime": .int(now), "ID": .string(id), "JobID": .string(job.spec.id),
            "JobModifyIndex": .int(Int64(job.jobModifyIndex)), "ModifyIndex": .int(Int64(writeIndex)), "ModifyTime": .int(now),
            "Namespace": .string(job.spec.namespace), "Priority": job.json["Priority"] ?? 50, "Status": "pending",
            "TriggeredBy": .string(triggeredBy), "Type": .string(job.spec.type), "SnapshotIndex": .int(Int64(writeIndex)),
            "DeploymentID": .string(job.spec.type == "service" ? UUID().uuidString.lowercased() : ""),
        ]
        evaluations[id] = eval
        return eval
    }

    private func completeEvaluation(_ id: String, failed: [String: WireJSON], queued: [String: Int]) {
        guard var eval = evaluations[id] else { return }
        let writeIndex = bump("evals")
        eval["Status"] = "complete"
        eval["ModifyIndex"] = .int(Int64(writeIndex))
        eval["ModifyTime"] = .int(NomadTime.nowNanos())
        eval["QueuedAllocations"] = .object(queued.mapValues { .number($0) })
        if !failed.isEmpty {
            eval["FailedTGAllocs"] = .object(failed)
            let jobKey = Self.key(eval["Namespace"]?.string ?? "default", eval["JobID"]?.string ?? "")
            let blockedID = blockedEvaluations[jobKey] ?? UUID().uuidString.lowercased()
            var blocked = eval
            blocked["ID"] = .string(blockedID)
            blocked["Status"] = "blocked"
            blocked["StatusDescription"] = "created to place remaining allocations"
            blocked["TriggeredBy"] = "queued-allocs"
            blocked["PreviousEval"] = .string(id)
            // A real 1.1.2 blocked evaluation keeps the placement failures (`FailedTGAllocs`) too.
            blocked["ClassEligibility"] = ["v1:791150598650094307": false]
            blocked["CreateIndex"] = .int(Int64(writeIndex))
            evaluations[blockedID] = blocked
            blockedEvaluations[jobKey] = blockedID
            eval["BlockedEval"] = .string(blockedID)
            evaluations[id] = eval
            publish([evaluationEvent(blocked, type: "EvaluationUpdated", index: writeIndex), evaluationEvent(eval, type: "EvaluationUpdated", index: writeIndex)], at: writeIndex)
        } else {
            evaluations[id] = eval
            publish([evaluationEvent(eval, type: "EvaluationUpdated", index: writeIndex)], at: writeIndex)
        }
    }

    /// Re-runs the scheduler for jobs waiting on capacity.
    private func retryBlocked() {
        for (jobKey, blockedID) in blockedEvaluations {
            blockedEvaluations.removeValue(forKey: jobKey)
            evaluations[blockedID]?["Status"] = "complete"
            schedule(jobKey: jobKey, evalID: blockedID)
        }
    }

    private func stopAllocations(of job: JobRecord, description: String) {
        for alloc in allocationList(jobNamespace: job.spec.namespace, jobID: job.spec.id) where alloc.desiredStatus == "run" {
            stop(alloc.id, description: description)
        }
    }

    private func stop(_ allocationID: String, description: String) {
        guard var alloc = allocations[allocationID] else { return }
        let writeIndex = bump("allocs")
        alloc.desiredStatus = "stop"
        alloc.desiredDescription = description
        alloc.modifyIndex = writeIndex
        alloc.allocModifyIndex = writeIndex
        allocations[allocationID] = alloc
        publish([allocationEvent(alloc, type: "PlanResult", index: writeIndex)], at: writeIndex)
        runners[allocationID]?.stop()
    }

    private func updateJobStatus(_ key: String) {
        guard var job = jobs[key] else { return }
        let allocs = allocationList(jobNamespace: job.spec.namespace, jobID: job.spec.id)
        let status: String
        if job.stop {
            status = "dead"
        } else if allocs.contains(where: { !["complete", "failed", "lost"].contains($0.clientStatus) }) || blockedEvaluations[key] != nil {
            status = allocs.isEmpty ? "pending" : "running"
        } else if allocs.isEmpty {
            status = "pending"
        } else {
            status = job.spec.type == "service" || job.spec.type == "system" ? "running" : "dead"
        }
        guard status != job.status else { return }
        let writeIndex = bump("jobs")
        job.status = status
        job.modifyIndex = writeIndex
        jobs[key] = job
        publish([jobEvent(job, type: "JobRegistered", index: writeIndex)], at: writeIndex)
    }

    /// Reconciles a job's allocations with its spec: stops allocations of older versions or
    /// surplus ones, places missing ones, and records placement failures on the evaluation.
    private func schedule(jobKey: String, evalID: String, excluding: Set<String> = []) {
        guard let job = jobs[jobKey], !job.stop else {
            completeEvaluation(evalID, failed: [:], queued: [:])
            return
        }
        var failed: [String: WireJSON] = [:]
        var queued: [String: Int] = [:]
        var planEvents: [WireJSON] = []
        let planIndex = bump("allocs", "evals")
        let eligibleNodes = nodes.filter { $0.status == "ready" && $0.eligibility == "eligible" }
        for group in job.spec.groups {
            queued[group.name] = 0
            var current = allocationList(jobNamespace: job.spec.namespace, jobID: job.spec.id).filter {
                $0.taskGroup == group.name && $0.desiredStatus == "run" && $0.clientStatus != "lost" && !excluding.contains($0.id)
            }
            for alloc in current where alloc.jobVersion != job.version {
                if Self.updatableInPlace(from: alloc.job, to: job.json, group: group.name) {
                    updateInPlace(alloc.id, job: job, group: group)
                } else {
                    stop(alloc.id, description: "alloc not needed due to job update")
                }
            }
            current = current.compactMap { allocations[$0.id] }.filter { $0.jobVersion == job.version && $0.desiredStatus == "run" }
            let slots: [String?]
            if job.spec.type == "system" {
                slots = eligibleNodes.map { Optional($0.id) }
            } else {
                slots = Array(repeating: nil, count: max(group.count, 0))
            }
            var keep: [AllocationRecord] = []
            var missing: [(index: Int, node: String?)] = []
            for (slotIndex, slotNode) in slots.enumerated() {
                let name = "\(job.spec.id).\(group.name)[\(slotIndex)]"
                if let existing = current.first(where: { $0.name == name && (slotNode == nil || $0.nodeID == slotNode) }) {
                    // A failed service allocation is replaced; finished batch allocations keep their slot.
                    if existing.clientStatus == "failed" && job.spec.type != "batch" {
                        missing.append((slotIndex, slotNode))
                    } else {
                        keep.append(existing)
                    }
                } else {
                    missing.append((slotIndex, slotNode))
                }
            }
            for alloc in current where !keep.contains(where: { $0.id == alloc.id }) && alloc.clientStatus != "failed" {
                stop(alloc.id, description: "alloc not needed due to job update")
            }
            for (slotIndex, slotNode) in missing {
                let candidates = slotNode.map { id in eligibleNodes.filter { $0.id == id } } ?? eligibleNodes
                switch place(job: job, group: group, on: candidates) {
                case .placed(let node, let metrics):
                    let alloc = createAllocation(job: job, group: group, slot: slotIndex, node: node, evalID: evalID, index: planIndex, metrics: metrics)
                    planEvents.append(allocationEvent(alloc, type: "PlanResult", index: planIndex))
                case .failed(let metrics):
                    queued[group.name, default: 0] += 1
                    var metrics = metrics
                    if let previous = failed[group.name] {
                        metrics["CoalescedFailures"] = .int((previous["CoalescedFailures"]?.int ?? 0) + 1)
                    }
                    failed[group.name] = metrics
                }
            }
        }
        if !planEvents.isEmpty {
            if let eval = evaluations[evalID] { planEvents.insert(evaluationEvent(eval, type: "PlanResult", index: planIndex), at: 0) }
            planEvents.append(jobEvent(job, type: "PlanResult", index: planIndex))
            publish(planEvents, at: planIndex)
        }
        completeEvaluation(evalID, failed: failed, queued: queued)
        updateJobStatus(jobKey)
        for alloc in allocations.values where alloc.evalID == evalID && alloc.createIndex == planIndex {
            startRunner(for: alloc)
        }
    }

    private enum Placement {
        case placed(NodeRecord, WireJSON)
        case failed(WireJSON)
    }

    private func place(job: JobRecord, group: GroupSpec, on candidates: [NodeRecord]) -> Placement {
        var constraintFiltered: [String: Int] = [:]
        var dimensionExhausted: [String: Int] = [:]
        var nodesAvailable: [String: Int] = [:]
        var filtered = 0
        var exhausted = 0
        var resourcesExhausted: [String: WireJSON] = [:]
        let constraints = job.spec.constraints + group.constraints + group.tasks.flatMap(\.constraints)
        for node in nodes { nodesAvailable[node.config.datacenter, default: 0] += node.status == "ready" ? 1 : 0 }
        var best: NodeRecord?
        var bestLoad = Int.max
        for node in candidates {
            guard job.spec.datacenters.contains(node.config.datacenter) || job.spec.datacenters.contains("*") else { continue }
            if group.tasks.contains(where: { !node.config.drivers.contains($0.driver) }) {
                filtered += 1
                constraintFiltered["missing drivers", default: 0] += 1
                continue
            }
            if let unmet = constraints.first(where: { !node.satisfies($0) }) {
                filtered += 1
                constraintFiltered[unmet.summary, default: 0] += 1
                continue
            }
            let using = allocations.values.filter { $0.nodeID == node.id && $0.holdsResources }
            let cpuUsed = using.reduce(0) { $0 + $1.group.tasks.reduce(0) { $0 + $1.cpu } }
            let memoryUsed = using.reduce(0) { $0 + $1.group.tasks.reduce(0) { $0 + $1.memoryMB } }
            let portsUsed = Set(using.flatMap { $0.ports.map(\.value) })
            let cpuWanted = group.tasks.reduce(0) { $0 + $1.cpu }
            let memoryWanted = group.tasks.reduce(0) { $0 + $1.memoryMB }
            var dimension: String?
            if group.reservedPorts.contains(where: { portsUsed.contains($0.value) }) {
                dimension = "network: reserved port collision"
            } else if cpuUsed + cpuWanted > node.config.cpuMHz {
                dimension = "cpu"
            } else if memoryUsed + memoryWanted > node.config.memoryMB {
                dimension = "memory"
            }
            if let dimension {
                exhausted += 1
                dimensionExhausted[dimension, default: 0] += 1
                for task in group.tasks {
                    resourcesExhausted[task.name] = [
                        "CPU": .number(dimension == "cpu" ? task.cpu : 0), "Cores": 0, "Devices": nil, "DiskMB": 0, "IOPS": 0,
                        "MemoryMB": .number(dimension == "memory" ? task.memoryMB : 0), "MemoryMaxMB": 0, "Networks": nil,
                    ]
                }
                continue
            }
            if using.count < bestLoad {
                best = node
                bestLoad = using.count
            }
        }
        let evaluated = candidates.count
        if let best {
            return .placed(
                best,
                [
                    "AllocationTime": 40000, "ClassExhausted": nil, "ClassFiltered": nil, "CoalescedFailures": 0,
                    "ConstraintFiltered": constraintFiltered.isEmpty ? nil : .object(constraintFiltered.mapValues { .number($0) }),
                    "DimensionExhausted": dimensionExhausted.isEmpty ? nil : .object(dimensionExhausted.mapValues { .number($0) }),
                    "NodesAvailable": .object(nodesAvailable.mapValues { .number($0) }), "NodesEvaluated": .number(evaluated),
                    "NodesExhausted": .number(exhausted), "NodesFiltered": .number(filtered), "QuotaExhausted": nil,
                    "ResourcesExhausted": nil,
                    "ScoreMetaData": [
                        [
                            "NodeID": .string(best.id), "NormScore": 0.5,
                            "Scores": ["binpack": 0.5, "job-anti-affinity": 0.0, "node-affinity": 0.0, "node-reschedule-penalty": 0.0],
                        ]
                    ],
                    "Scores": nil,
                ])
        }
        return .failed([
            "AllocationTime": 7000, "ClassExhausted": nil, "ClassFiltered": nil, "CoalescedFailures": 0,
            "ConstraintFiltered": constraintFiltered.isEmpty ? nil : .object(constraintFiltered.mapValues { .number($0) }),
            "DimensionExhausted": dimensionExhausted.isEmpty ? nil : .object(dimensionExhausted.mapValues { .number($0) }),
            "NodesAvailable": .object(nodesAvailable.mapValues { .number($0) }), "NodesEvaluated": .number(evaluated),
            "NodesExhausted": .number(exhausted), "NodesFiltered": .number(filtered), "QuotaExhausted": nil,
            "ResourcesExhausted": resourcesExhausted.isEmpty ? nil : .object(resourcesExhausted), "ScoreMetaData": nil,
            "Scores": nil,
        ])
    }

    /// Whether a job change leaves the group's allocations running, as Nomad's `tasksUpdated`
    /// (scheduler/util.go) decides: it does not look at a task's `KillTimeout`, so a change of
    /// only that is an in-place update (same allocation, new job version).
    static func updatableInPlace(from old: WireJSON, to new: WireJSON, group: String) -> Bool {
        func comparable(_ job: WireJSON) -> WireJSON? {
            guard var taskGroup = job["TaskGroups"]?.array?.first(where: { $0["Name"]?.string == group }) else { return nil }
            taskGroup["Tasks"] = .array(
                (taskGroup["Tasks"]?.array ?? []).map { task in
                    var task = task
                    task["KillTimeout"] = nil
                    return task
                })
            return taskGroup
        }
        guard let before = comparable(old), let after = comparable(new) else { return false }
        return before == after
    }

    /// Moves an allocation to the job's new version without restarting its tasks.
    private func updateInPlace(_ id: String, job: JobRecord, group: GroupSpec) {
        guard var alloc = allocations[id] else { return }
        var jobSnapshot = job.rendered()
        jobSnapshot["Status"] = alloc.job["Status"] ?? "running"
        alloc.job = jobSnapshot
        alloc.jobVersion = job.version
        alloc.group = group
        let writeIndex = bump("allocs")
        alloc.modifyIndex = writeIndex
        alloc.allocModifyIndex = writeIndex
        alloc.modifyTime = NomadTime.nowNanos()
        allocations[id] = alloc
        runners[id]?.updateTasks(group.tasks)
        publish([allocationEvent(alloc, type: "AllocationUpdated", index: writeIndex)], at: writeIndex)
    }

    private func createAllocation(
        job: JobRecord, group: GroupSpec, slot: Int, node: NodeRecord, evalID: String, index writeIndex: UInt64, metrics: WireJSON
    ) -> AllocationRecord {
        let now = NomadTime.nowNanos()
        var jobSnapshot = job.rendered()
        jobSnapshot["Status"] = "pending"
        let alloc = AllocationRecord(
            id: UUID().uuidString.lowercased(), evalID: evalID, name: "\(job.spec.id).\(group.name)[\(slot)]",
            namespace: job.spec.namespace, jobID: job.spec.id, job: jobSnapshot, jobType: job.spec.type, jobVersion: job.version,
            taskGroup: group.name, nodeID: node.id, nodeName: node.config.name, deploymentID: UUID().uuidString.lowercased(),
            createIndex: writeIndex, modifyIndex: writeIndex, allocModifyIndex: writeIndex, createTime: now, modifyTime: now,
            taskStates: [:], ports: group.reservedPorts + dynamicPorts(group.dynamicPortLabels, on: node), dynamicPortCount: group.dynamicPortLabels.count,
            group: group, metrics: metrics)
        allocations[alloc.id] = alloc
        allocationOrder.append(alloc.id)
        allocationOrderByJob[Self.key(alloc.namespace, alloc.jobID), default: []].append(alloc.id)
        return alloc
    }

    /// Picks free ports from Nomad's default dynamic range (20000-32000) on the node.
    private func dynamicPorts(_ labels: [String], on node: NodeRecord) -> [(label: String, value: Int)] {
        var used = Set(allocations.values.filter { $0.nodeID == node.id && $0.holdsResources }.flatMap { $0.ports.map(\.value) })
        return labels.map { label in
            var port = Int.random(in: 20000...32000)
            while used.contains(port) { port = Int.random(in: 20000...32000) }
            used.insert(port)
            return (label, port)
        }
    }

    private func startRunner(for alloc: AllocationRecord) {
        guard !shuttingDown, let node = nodes.first(where: { $0.id == alloc.nodeID }) else { return }
        let runner = AllocationRunner(
            allocation: alloc, node: node, dataDirectory: dataDirectory, cluster: self, logger: logger)
        runners[alloc.id] = runner
        runner.start()
    }

    /// Kills every task of every allocation and waits for them to end.
    func shutdown() async {
        shuttingDown = true
        let all = Array(runners.values)
        // The whole agent goes away: kill the tasks, run no poststop tasks.
        for runner in all { runner.abandon() }
        for runner in all { await runner.finished() }
        let pending = waiters
        waiters.removeAll()
        for (_, continuation) in pending { continuation.resume() }
    }
}

/// A stored Variable.
struct VariableRecord: Sendable {
    var items: [String: String]
    var createIndex: UInt64
    var modifyIndex: UInt64
    var createTime: Int64
    var modifyTime: Int64

    /// The wire form; the list endpoint leaves the items out.
    func json(namespace: String, path: String, withItems: Bool) -> WireJSON {
        var object: [String: WireJSON] = [
            "Namespace": .string(namespace), "Path": .string(path), "CreateIndex": .int(Int64(createIndex)),
            "ModifyIndex": .int(Int64(modifyIndex)), "CreateTime": .int(createTime), "ModifyTime": .int(modifyTime),
        ]
        if withItems { object["Items"] = .object(items.mapValues { .string($0) }) }
        return .object(object)
    }
}

extension NomadCluster {
    /// Creates or replaces a variable; returns it.
    func putVariable(namespace: String, path: String, items: [String: String]) -> (VariableRecord, UInt64) {
        let now = NomadTime.nowNanos()
        let index = bumpVariables()
        var record = variablesStore(namespace)[path] ?? VariableRecord(items: [:], createIndex: index, modifyIndex: index, createTime: now, modifyTime: now)
        record.items = items
        record.modifyIndex = index
        record.modifyTime = now
        setVariable(namespace: namespace, path: path, record)
        return (record, index)
    }

    /// The variable at a path, if any.
    func variable(namespace: String, path: String) -> VariableRecord? { variablesStore(namespace)[path] }

    /// The variables whose path starts with `prefix`, sorted by path.
    func variables(namespace: String, prefix: String) -> [(path: String, record: VariableRecord)] {
        variablesStore(namespace).filter { $0.key.hasPrefix(prefix) }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// Deletes a variable (absent: nothing happens); returns the write index.
    func deleteVariable(namespace: String, path: String) -> UInt64 {
        let index = bumpVariables()
        setVariable(namespace: namespace, path: path, nil)
        return index
    }
}

/// An error answer: a status code and Nomad's plain-text body.
struct NomadHTTPError: Error, Sendable {
    var status: Int
    var message: String
}
