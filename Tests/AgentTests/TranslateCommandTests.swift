import Foundation
import Testing
import TestSupport

/// `nomad-kubelet translate`: the no-cluster dry run, run as the shipped binary.
@Suite("nomad-kubelet translate", .timeLimit(.minutes(2)))
struct TranslateCommandTests {
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `nomad-kubelet translate` on `manifests` written to a file (plus `extra` arguments).
    static func translate(_ manifests: String, extra: [String] = []) async throws -> Outcome {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("translate-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("app.yaml")
        try manifests.write(to: file, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = CommandLineTests.executable
        process.arguments = ["translate", "-f", file.path] + extra
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        // Read before waiting, so a large output cannot fill the pipe and block the process.
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        let status = try await CommandLineTests.exitStatus(of: process)
        return Outcome(status: status, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self))
    }

    static let statefulSet = """
        apiVersion: nomad-kubelet.io/v1alpha1
        kind: PseudoImage
        metadata: {name: postgres}
        spec:
          user: postgres
          command: [postgres]
          tags:
          - {name: "16", hostPath: /usr/lib/postgresql/16/bin}
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: db}
        stringData: {password: correct-horse-battery}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: cfg}
        data: {MODE: fast}
        ---
        apiVersion: apps/v1
        kind: StatefulSet
        metadata: {name: db, namespace: default}
        spec:
          serviceName: db
          selector: {matchLabels: {app: db}}
          template:
            metadata: {labels: {app: db}}
            spec:
              containers:
              - name: postgres
                image: nomad-kubelet.io/postgres:16
                envFrom: [{configMapRef: {name: cfg}}]
                env:
                - {name: PGPASSWORD, valueFrom: {secretKeyRef: {name: db, key: password}}}
                - {name: PORT, value: "5432"}
                ports: [{containerPort: 5432}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: db}
        spec: {ports: [{port: 5432}]}
        """

    @Test("a StatefulSet with its PseudoImage, ConfigMap and Secret prints the job the agent would register, the Secret redacted")
    func printsRedactedJob() async throws {
        let outcome = try await Self.translate(Self.statefulSet)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any]
        let job = try #require(object?["Job"] as? [String: Any])
        #expect(job["ID"] as? String == "default.db-0.\(String((job["Meta"] as? [String: String])?["k8s.uid"]?.prefix(8) ?? ""))")
        let task = try #require(((job["TaskGroups"] as? [[String: Any]])?.first?["Tasks"] as? [[String: Any]])?.first)
        #expect((task["Config"] as? [String: Any])?["command"] as? String == "/usr/lib/postgresql/16/bin/postgres")
        #expect(task["User"] as? String == "postgres")
        #expect(task["Env"] as? [String: String] == ["MODE": "fast", "PGPASSWORD": "<redacted>", "PORT": "5432"])
        #expect(!outcome.stdout.contains("correct-horse-battery"))
        #expect(!outcome.stderr.contains("correct-horse-battery"))
        #expect(outcome.stderr.contains("ignored Service db"))
    }

    @Test("pods that cannot run exit with code 2 and every problem at its path in the document")
    func problemsWithFieldPaths() async throws {
        let outcome = try await Self.translate(
            """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web, namespace: shop}
            spec:
              template:
                spec:
                  containers:
                  - name: web
                    image: postgres:16
                    env: [{name: X, valueFrom: {secretKeyRef: {name: missing, key: k}}}]
                    securityContext: {privileged: true}
            ---
            apiVersion: batch/v1
            kind: CronJob
            metadata: {name: nightly}
            spec:
              schedule: "0 3 * * *"
              jobTemplate:
                spec:
                  template:
                    spec:
                      restartPolicy: Never
                      containers:
                      - {name: job, image: nomad-kubelet.io/missing-tool:1}
            """)
        #expect(outcome.status == 2)
        #expect(outcome.stdout.isEmpty)
        for path in [
            "spec.template.spec.containers[0].image [unsupported]", "spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef [missing]",
            "spec.template.spec.containers[0].securityContext.privileged [policy]", "spec.jobTemplate.spec.template.spec.containers[0].image [missing]",
        ] {
            #expect(outcome.stderr.contains(path), "missing \(path) in:\n\(outcome.stderr)")
        }
        #expect(outcome.stderr.contains("Deployment shop/web"))
        #expect(outcome.stderr.contains("CronJob default/nightly"))
    }

    @Test("an unreadable document is an error naming the file, document and field")
    func unreadableDocument() async throws {
        let outcome = try await Self.translate("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: 3}]}\n")
        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains("app.yaml#1"))
        #expect(outcome.stderr.contains("spec.containers[0].name"))
    }
}
