import Agent
import Foundation
import KubernetesClient
import KubernetesModels
import NomadModels
import Testing
import TestSupport
import Translation

/// A shipped example (`examples/<name>`) as a user gets it: rendered by the real `kubectl kustomize`
/// (optionally through a test overlay of patches), then translated exactly as
/// `nomad-kubelet translate` does (``ManifestSet/translations(with:)``, the command's own loop), so a
/// test can assert the Nomad job's key facts or the refusal.
///
///     let example = try await ExampleManifests.render("postgresql")
///     let job = try example.job(of: "StatefulSet", "postgresql")
///     #expect(job.task("postgresql")?.killSignal == "SIGINT")
///
/// With an overlay (a kustomization body added after `resources: [<the example>]`):
///
///     let patched = try await ExampleManifests.render("minio", overlay: """
///         patches:
///           - target: {kind: PseudoImage, name: minio}
///             patch: '[{"op": "replace", "path": "/spec/tags/0/checksum", "value": "sha256:…"}]'
///         """)
struct ExampleManifests: Sendable {
    /// The repository's root (this file is Tests/AgentTests/ExampleHarness.swift).
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The example's name (its directory under examples/).
    let name: String
    /// What `kubectl kustomize` printed.
    let yaml: String
    /// The rendered documents.
    let documents: [JSONValue]

    /// `examples/<name>` rendered by the real `kubectl kustomize`, through `overlay` when given;
    /// `files` (name → content) are written beside the overlay's kustomization.yaml, for its
    /// generators (`configMapGenerator: [{name: x, behavior: replace, files: [app.conf]}]`).
    /// Throws when kubectl is missing (guard the test with `.enabled(if: KubectlRunner.path != nil, …)`)
    /// or kustomize fails (its message included).
    static func render(_ name: String, overlay: String? = nil, files: [String: String] = [:]) async throws -> ExampleManifests {
        let kubectl = try KubectlRunner(kubeconfig: nil)
        defer { kubectl.cleanUp() }
        let example = repositoryRoot.appendingPathComponent("examples").appendingPathComponent(name)
        var target = example.path
        if let overlay {
            // kustomize takes only relative paths to bases: from the runner's directory to the example.
            let up = kubectl.directory.pathComponents.dropFirst().map { _ in ".." }.joined(separator: "/")
            let kustomization = """
                apiVersion: kustomize.config.k8s.io/v1beta1
                kind: Kustomization
                resources:
                  - \(up)\(example.path)
                \(overlay)
                """
            try kustomization.write(to: kubectl.directory.appendingPathComponent("kustomization.yaml"), atomically: true, encoding: .utf8)
            for (file, content) in files { try content.write(to: kubectl.directory.appendingPathComponent(file), atomically: true, encoding: .utf8) }
            target = kubectl.directory.path
        }
        let result = try await kubectl.run(["kustomize", target], timeout: .seconds(30))
        guard result.status == 0 else { throw ExampleError(description: "kubectl kustomize \(name) failed (\(result.status)): \(result.stderr)") }
        return ExampleManifests(name: name, yaml: result.stdout, documents: try ManifestYAML.documents(result.stdout))
    }

    /// The rendered object of `kind` named `name`.
    func object(_ kind: String, _ name: String) -> JSONValue? {
        documents.first { $0["kind"]?.stringValue == kind && $0["metadata"]?["name"]?.stringValue == name }
    }

    /// The manifests as `translate` reads them, for a node configured by `configuration` (default:
    /// what `translate` uses without `--config`), with the shipped RuntimeClasses first, as in
    /// `nomad-kubelet translate -f manifests/runtimeclass.yaml -f <(kubectl kustomize examples/NAME)`.
    func manifestSet(_ configuration: AgentConfiguration = ExampleManifests.translateDefaults) throws -> ManifestSet {
        let runtimeClasses = try ManifestYAML.documents(
            String(contentsOf: Self.repositoryRoot.appendingPathComponent("manifests/runtimeclass.yaml"), encoding: .utf8))
        return ManifestSet(
            documents: runtimeClasses.enumerated().map { ("runtimeclass.yaml#\($0.offset + 1)", $0.element) }
                + documents.enumerated().map { ("\(name)#\($0.offset + 1)", $0.element) },
            nodeName: configuration.translationPolicy.nodeName)
    }

    /// Every workload's translation (job or refusal), as `nomad-kubelet translate` computes it.
    func translations(_ configuration: AgentConfiguration = ExampleManifests.translateDefaults) throws -> [ManifestSet.WorkloadTranslation] {
        try manifestSet(configuration).translations(with: PodTranslator(policy: configuration.translationPolicy), volumeRoot: configuration.storage.rootDirectory)
    }

    /// The translation of the workload `kind` `name` (a StatefulSet's is its replica `<name>-0`).
    func translation(of kind: String, _ name: String, _ configuration: AgentConfiguration = ExampleManifests.translateDefaults) throws -> Result<
        PodTranslation, TranslationError
    > {
        let prefix = "\(kind) "
        let all = try translations(configuration)
        guard let found = all.first(where: { $0.workload.source.hasPrefix(prefix) && $0.workload.source.contains("/\(name) (") }) else {
            throw ExampleError(description: "example \(self.name) renders no \(kind) \(name); it has: \(all.map(\.workload.source))")
        }
        return found.result
    }

    /// The job the workload translates to; throws the refusal (every problem) when it does not.
    func job(of kind: String, _ name: String, _ configuration: AgentConfiguration = ExampleManifests.translateDefaults) throws -> Job {
        try translation(of: kind, name, configuration).get().job
    }

    /// The refusal of the workload; throws when it translates.
    func refusal(of kind: String, _ name: String, _ configuration: AgentConfiguration = ExampleManifests.translateDefaults) throws -> TranslationError {
        switch try translation(of: kind, name, configuration) {
        case .success: throw ExampleError(description: "\(kind) \(name) of example \(self.name) translates, but a refusal was expected")
        case .failure(let error): return error
        }
    }

    /// The configuration `nomad-kubelet translate` uses without `--config`.
    static let translateDefaults = AgentConfiguration(node: .init(name: "nomad-kubelet"))
}

/// Something wrong with an example (rendering, a missing workload).
struct ExampleError: Error, CustomStringConvertible {
    var description: String
}

extension Job {
    /// The pod's task group (`pod`).
    var podGroup: TaskGroup? { taskGroups?.first }

    /// The task of container (or init container) `name`.
    func task(_ name: String) -> NomadTask? { podGroup?.tasks?.first { $0.name == name } }
}

@Suite("Shipped examples: rendered by kubectl kustomize, translated as nomad-kubelet translate does", .enabled(if: KubectlRunner.path != nil, Comment(rawValue: KubectlRunner.missingReason)))
struct ExampleHarnessTests {
    @Test("examples/hello renders and translates into one raw_exec job running its shell loop")
    func hello() async throws {
        let example = try await ExampleManifests.render("hello")
        let job = try example.job(of: "Deployment", "hello")
        let task = try #require(job.task("hello"))
        #expect(task.driver == "raw_exec")
        #expect(task.config?.command == "/bin/sh")
        #expect(task.config?.args?.first == "-c")
        #expect(task.killTimeout == NomadDuration(.seconds(5)))
    }

    @Test("an overlay's patch reaches the translation; a pod that cannot run comes back as its refusal")
    func overlayAndRefusal() async throws {
        let example = try await ExampleManifests.render(
            "hello",
            overlay: """
                patches:
                  - target: {kind: Deployment, name: hello}
                    patch: '[{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "nginx:1.27"}]'
                """)
        let refusal = try example.refusal(of: "Deployment", "hello")
        #expect(refusal.problems.contains { $0.field == "spec.containers[0].image" && $0.kind == .unsupported })
    }
}
