import Foundation
import NomadModels
import Testing
import Translation

@Suite("NomadJobValidator: Nomad's job rules")
struct NomadJobValidatorTests {
    static let valid: Job = {
        let task = NomadTask(
            name: "web", driver: "raw_exec", config: TaskConfig(command: "/bin/true"), resources: Resources(cpu: 100, memoryMB: 64),
            killTimeout: .seconds(5), logConfig: LogConfig(maxFiles: 2, maxFileSizeMB: 1))
        let group = TaskGroup(
            name: "pod", count: 1, tasks: [task], restartPolicy: RestartPolicy(attempts: 2, interval: .seconds(60), delay: .seconds(1), mode: .delay),
            reschedulePolicy: ReschedulePolicy(attempts: 0, unlimited: false), ephemeralDisk: EphemeralDisk(sizeMB: 50))
        return Job(id: "default.web-0", name: "default.web-0", namespace: "default", type: .service, region: "global", datacenters: ["dc1"], taskGroups: [group])
    }()

    @Test("a well-formed job has no violations")
    func validJob() {
        #expect(NomadJobValidator.violations(of: Self.valid).isEmpty)
    }

    @Test(
        "the recorded registrations Nomad 1.1.2 accepted pass (after the region and namespace Nomad's HTTP API fills in)",
        arguments: [
            "register a service job (prestart task + main task, static port, Meta)", "register a batch job whose task exits 3",
            "register a service job that crashes", "register a job no client can run", "register a job that asks for more memory",
        ])
    func recordedRegistrations(title: String) throws {
        var job = try Fixtures.registeredJob(title)
        job.region = job.region ?? "global"
        job.namespace = job.namespace ?? "default"
        #expect(NomadJobValidator.violations(of: job) == [])
    }

    @Test("the recorded job with no task groups fails with Nomad's own message")
    func recordedInvalidJob() throws {
        let exchange = try Fixtures.decode([String: Job].self, try #require(try TestSupportBridge.requestBody("a job with no task groups")))
        var job = try #require(exchange["Job"])
        job.region = "global"
        job.namespace = "default"
        let messages = NomadJobValidator.violations(of: job).map(\.message)
        #expect(messages == ["Missing job task groups"])
        #expect(try TestSupportBridge.responseBody("a job with no task groups").contains(messages[0]))
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var message: String
        var field: String
        var mutate: @Sendable (inout Job) -> Void
        var testDescription: String { message }
    }

    static func task(_ change: @escaping @Sendable (inout NomadTask) -> Void) -> @Sendable (inout Job) -> Void {
        { job in change(&job.taskGroups![0].tasks![0]) }
    }

    static func group(_ change: @escaping @Sendable (inout TaskGroup) -> Void) -> @Sendable (inout Job) -> Void {
        { job in change(&job.taskGroups![0]) }
    }

    static let cases: [Case] = [
        Case(message: "Missing job ID", field: "ID") { $0.id = "" },
        Case(message: "Job ID contains a space", field: "ID") { $0.id = "a b" },
        Case(message: "Job ID contains a null character", field: "ID") { $0.id = "a\0b" },
        Case(message: "Job Name contains a null character", field: "Name") { $0.name = "a\0b" },
        Case(message: "Missing job region", field: "Region") { $0.region = nil },
        Case(message: "Job must be in a namespace", field: "Namespace") { $0.namespace = "" },
        Case(message: "Invalid job type: \"daemon\"", field: "Type") { $0.type = "daemon" },
        Case(message: "Job priority must be between [1, 100]", field: "Priority") { $0.priority = 0 },
        Case(message: "Missing job datacenters", field: "Datacenters") { $0.datacenters = [] },
        Case(message: "Job datacenter must be non-empty string", field: "Datacenters") { $0.datacenters = [""] },
        Case(message: "Constraint 1 validation failed: Unknown constraint type \"~\"", field: "Constraints[0]") {
            $0.constraints = [Constraint(lTarget: "${node.unique.id}", rTarget: "x", operand: "~")]
        },
        Case(message: "Job task group 2 redefines 'pod' from group 1", field: "TaskGroups[1].Name") { $0.taskGroups!.append($0.taskGroups![0]) },
        Case(message: "Missing tasks for task group", field: "TaskGroups[0].Tasks", mutate: group { $0.tasks = [] }),
        Case(message: "Task group count can't be negative", field: "TaskGroups[0].Count", mutate: group { $0.count = -1 }),
        Case(message: "Unsupported restart mode: \"sometimes\"", field: "TaskGroups[0].RestartPolicy.Mode", mutate: group { $0.restartPolicy?.mode = "sometimes" }),
        Case(
            message: "Restart policy \"delay\" with 0 attempts is ambiguous", field: "TaskGroups[0].RestartPolicy.Attempts",
            mutate: group { $0.restartPolicy?.attempts = 0 }),
        Case(message: "Interval can not be less than 5s (got 1.0 seconds)", field: "TaskGroups[0].RestartPolicy.Interval", mutate: group { $0.restartPolicy?.interval = .seconds(1) }),
        Case(
            message: "Nomad can't restart the TaskGroup 100 times in an interval of 60.0 seconds with a delay of 1.0 seconds", field: "TaskGroups[0].RestartPolicy",
            mutate: group { $0.restartPolicy?.attempts = 100 }),
        Case(message: "minimum DiskMB value is 10; got 5", field: "TaskGroups[0].EphemeralDisk.SizeMB", mutate: group { $0.ephemeralDisk?.sizeMB = 5 }),
        Case(
            message: "Delay cannot be less than 5s (got 1.0 seconds)", field: "TaskGroups[0].ReschedulePolicy.Delay",
            mutate: group { $0.reschedulePolicy = ReschedulePolicy(attempts: 1, interval: .seconds(60), delay: .seconds(1), delayFunction: "constant") }),
        Case(
            message: "Static port 80 already reserved by taskgroup network:a", field: "TaskGroups[0].Networks[0].Ports[1].Value",
            mutate: group { $0.networks = [NetworkResource(reservedPorts: [Port(label: "a", value: 80), Port(label: "b", value: 80)])] }),
        Case(
            message: "Port label a already in use by taskgroup network", field: "TaskGroups[0].Networks[0].Ports[1].Label",
            mutate: group { $0.networks = [NetworkResource(reservedPorts: [Port(label: "a", value: 80), Port(label: "a", value: 81)])] }),
        Case(
            message: "Port big (70000) cannot be greater than 65535", field: "TaskGroups[0].Networks[0].Ports[0].Value",
            mutate: group { $0.networks = [NetworkResource(reservedPorts: [Port(label: "big", value: 70000)])] }),
        Case(message: "Task 2 redefines 'web' from task 1", field: "TaskGroups[0].Tasks[1].Name", mutate: group { $0.tasks!.append($0.tasks![0]) }),
        Case(message: "Missing task name", field: "TaskGroups[0].Tasks[0].Name", mutate: task { $0.name = "" }),
        Case(message: "Task cannot be named \"alloc\"", field: "TaskGroups[0].Tasks[0].Name", mutate: task { $0.name = "alloc" }),
        Case(message: "Task name cannot include slashes", field: "TaskGroups[0].Tasks[0].Name", mutate: task { $0.name = "../x" }),
        Case(message: "Task name cannot include null characters", field: "TaskGroups[0].Tasks[0].Name", mutate: task { $0.name = "a\0" }),
        Case(message: "Missing task driver", field: "TaskGroups[0].Tasks[0].Driver", mutate: task { $0.driver = nil }),
        Case(message: "KillTimeout must be a positive value", field: "TaskGroups[0].Tasks[0].KillTimeout", mutate: task { $0.killTimeout = .seconds(-1) }),
        Case(message: "minimum CPU value is 1; got 0", field: "TaskGroups[0].Tasks[0].Resources.CPU", mutate: task { $0.resources?.cpu = 0 }),
        Case(message: "minimum MemoryMB value is 10; got 4", field: "TaskGroups[0].Tasks[0].Resources.MemoryMB", mutate: task { $0.resources?.memoryMB = 4 }),
        Case(
            message: "MemoryMaxMB value (32) should be larger than MemoryMB value (64)", field: "TaskGroups[0].Tasks[0].Resources.MemoryMaxMB",
            mutate: task { $0.resources?.memoryMaxMB = 32 }),
        Case(message: "minimum number of files is 1; got 0", field: "TaskGroups[0].Tasks[0].LogConfig.MaxFiles", mutate: task { $0.logConfig?.maxFiles = 0 }),
        Case(
            message: "log storage (100 MB) must be less than requested disk capacity (50 MB)", field: "TaskGroups[0].Tasks[0].LogConfig",
            mutate: task { $0.logConfig = LogConfig(maxFiles: 10, maxFileSizeMB: 10) }),
        Case(message: "Lifecycle validation failed: invalid hook: later", field: "TaskGroups[0].Tasks[0].Lifecycle.Hook", mutate: task { $0.lifecycle = TaskLifecycle(hook: "later") }),
        Case(
            message: "KillTimout (900.0 seconds) longer than the group's ProgressDeadline (600.0 seconds)", field: "TaskGroups[0].Tasks[0].KillTimeout",
            mutate: task { $0.killTimeout = .seconds(900) }),
        Case(
            message: "Job type \"batch\" does not allow update block", field: "TaskGroups[0].Update",
            mutate: { job in job.type = .batch; job.taskGroups![0].update = UpdateStrategy(maxParallel: 1) }),
        Case(message: "Missing required field \"command\" for the raw_exec driver", field: "TaskGroups[0].Tasks[0].Config.command", mutate: task { $0.config = TaskConfig() }),
    ]

    @Test("each rule reports Nomad's message at the right field", arguments: cases)
    func rule(_ testCase: Case) {
        var job = Self.valid
        testCase.mutate(&job)
        let violations = NomadJobValidator.violations(of: job)
        #expect(violations.contains(NomadJobViolation(field: testCase.field, message: testCase.message)), "got \(violations)")
    }
}
