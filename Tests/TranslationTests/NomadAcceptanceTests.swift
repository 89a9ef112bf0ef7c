import Foundation
import NomadClient
import NomadModels
import TestSupport
import Testing
import Translation

@Suite("Translated jobs are accepted by Nomad's own validation (/v1/validate/job)")
struct NomadAcceptanceTests {
    @Test("generated pods' jobs validate on a real Nomad (NOMAD_ADDR with NOMAD_KUBELET_E2E=1) or the simulator")
    func generatedJobsValidate() async throws {
        let simulator: NomadSimulator? = E2EEnvironment.realNomadAddress == nil ? try await NomadSimulator.start() : nil
        let address = E2EEnvironment.realNomadAddress ?? simulator!.address
        let client = try NomadClient(configuration: NomadClientConfiguration(address: address))
        var generator = PodGenerator(random: SplitMix64(state: 7))
        var validated = 0
        do {
            for _ in 0..<300 {
                let pod = generator.pod()
                guard let job = try? Fixtures.translator.translate(pod, context: generator.context()).job else { continue }
                let response = try await client.validate(job)
                #expect((response.validationErrors ?? []).isEmpty, "job \(job.id ?? ""): \(response.validationErrors ?? [])")
                #expect((response.error ?? "").isEmpty, "job \(job.id ?? ""): \(response.error ?? "")")
                validated += 1
            }
        } catch {
            try await client.shutdown()
            await simulator?.shutdown()
            throw error
        }
        try await client.shutdown()
        await simulator?.shutdown()
        #expect(validated > 10)
    }
}
