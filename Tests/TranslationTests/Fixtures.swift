import Foundation
import KubernetesModels
import NomadModels
import TestSupport
import Translation

/// Pods, policies and recorded Nomad bodies shared by the translation tests.
enum Fixtures {
    static let policy = TranslationPolicy(nodeName: "vk-nomad")
    static let translator = PodTranslator(policy: policy)
    static let uid = "3f1c2a4e-0000-4000-8000-000000000001"
    static let now = Date(timeIntervalSince1970: 1_795_639_700)

    /// A pod running `/bin/sleep 3600` from the host image, as the recordings do.
    static func pod(
        name: String = "web-0", namespace: String = "default", uid: String = uid, restartPolicy: String? = "Always",
        containers: [Container] = [Container(name: "web", image: ImageResolver.hostImage, command: ["/bin/sleep", "3600"])],
        initContainers: [Container]? = nil, configure: (inout PodSpec) -> Void = { _ in }
    ) -> Pod {
        var spec = PodSpec(containers: containers, initContainers: initContainers, restartPolicy: restartPolicy)
        spec.nodeName = "vk-nomad"
        configure(&spec)
        return Pod(metadata: ObjectMeta(name: name, namespace: namespace, uid: uid), spec: spec)
    }

    /// A one-container pod with the container changed by `configure`.
    static func pod(container configure: (inout Container) -> Void) -> Pod {
        var container = Container(name: "web", image: ImageResolver.hostImage, command: ["/bin/sleep", "3600"])
        configure(&container)
        return pod(containers: [container])
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(text.utf8))
    }

    /// The response body of the exchange titled exactly `title` in the Nomad recording.
    static func nomadBody(_ title: String) throws -> String { try TestSupportBridge.responseBody(title) }

    static func allocation(_ title: String) throws -> Allocation { try decode(Allocation.self, try nomadBody(title)) }
    static func evaluation(_ title: String) throws -> Evaluation { try decode(Evaluation.self, try nomadBody(title)) }

    /// The job in a recorded `POST /v1/jobs` body.
    static func registeredJob(_ title: String) throws -> Job {
        struct Registration: Decodable {
            var job: Job
            enum CodingKeys: String, CodingKey { case job = "Job" }
        }
        let exchange = try RecordedTraffic.exchange("nomad/01-agent-nodes-jobs.txt", titled: title)
        return try decode(Registration.self, exchange.requestBody ?? "").job
    }
}

/// A test asked for an exchange title that the recording does not have.
struct MissingExchange: Error, CustomStringConvertible {
    var title: String
    var description: String { "no exchange titled exactly '\(title)' in nomad/01-agent-nodes-jobs.txt" }
}

/// Raw bodies of the Nomad recording, by exact title.
enum TestSupportBridge {
    static func exchange(_ title: String) throws -> RecordedExchange {
        guard let found = try RecordedTraffic.exchanges("nomad/01-agent-nodes-jobs.txt").first(where: { $0.title == title }) else {
            throw MissingExchange(title: title)
        }
        return found
    }

    static func requestBody(_ title: String) throws -> String? { try exchange(title).requestBody }
    static func responseBody(_ title: String) throws -> String { try exchange(title).responseBody }
}
