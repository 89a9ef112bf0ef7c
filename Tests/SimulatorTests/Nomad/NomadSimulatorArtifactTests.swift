import Crypto
import Foundation
import Hummingbird
import NIOCore
import NIOFoundationCompat
import Testing

@testable import TestSupport

@Suite("Nomad simulator: artifacts", .serialized)
struct NomadSimulatorArtifactTests {
    /// Serves `files` on 127.0.0.1 for the duration of `body`.
    static func withFileServer<T>(_ files: [String: Data], _ body: (String) async throws -> T) async throws -> T {
        let router = Router()
        for (name, data) in files {
            router.get("/\(name)") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(data: data))) }
        }
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) })
        let server = Task { try await app.runService(gracefulShutdownSignals: []) }
        defer { server.cancel() }
        var port = 0
        for await value in ports {
            port = value
            break
        }
        return try await body("http://127.0.0.1:\(port)")
    }

    static func tarball(containing text: String) throws -> Data {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nsim-artifact-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("content"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data(text.utf8).write(to: directory.appendingPathComponent("content/inside.txt"))
        let archive = directory.appendingPathComponent("bundle.tar.gz")
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
        tar.arguments = ["-czf", archive.path, "-C", directory.appendingPathComponent("content").path, "inside.txt"]
        try tar.run()
        tar.waitUntilExit()
        return try Data(contentsOf: archive)
    }

    @Test func artifactsAreDownloadedVerifiedAndUnpacked() async throws {
        let plain = Data("plain artifact\n".utf8)
        let digest = SHA256.hash(data: plain).map { String(format: "%02x", $0) }.joined()
        let files = ["tool.txt": plain, "bundle.tar.gz": try Self.tarball(containing: "from the archive\n")]
        try await Self.withFileServer(files) { base in
            let simulator = try await NomadSimulator.start()
            let http = RawNomadHTTP(address: simulator.address)
            let artifacts = """
                "Artifacts": [{"GetterSource": "\(base)/tool.txt", "GetterOptions": {"checksum": "sha256:\(digest)"}},
                              {"GetterSource": "\(base)/bundle.tar.gz", "RelativeDest": "local/unpacked"}],
                """
            let job = TestJobs.job(
                id: "fetching", type: "batch", script: "cat local/tool.txt local/unpacked/inside.txt",
                restart: #"{"Attempts": 0, "Interval": 60000000000, "Delay": 100000000, "Mode": "fail"}"#, taskExtras: artifacts)
            _ = try await http.register(job)
            let id = try await http.firstAllocation(of: "fetching")["ID"]?.string ?? ""
            let done = try await http.waitFor("the fetching allocation to finish") {
                try await http.get("/v1/allocation/\(id)").json
            } until: { ["complete", "failed"].contains($0["ClientStatus"]?.string ?? "") }
            let output = try await http.get("/v1/client/fs/logs/\(id)?task=main&type=stdout&plain=true").text

            let bad = TestJobs.job(
                id: "tampered", type: "batch", script: "true",
                restart: #"{"Attempts": 0, "Interval": 60000000000, "Delay": 100000000, "Mode": "fail"}"#,
                taskExtras: #""Artifacts": [{"GetterSource": "\#(base)/tool.txt", "GetterOptions": {"checksum": "md5:00000000000000000000000000000000"}}],"#)
            _ = try await http.register(bad)
            let badID = try await http.firstAllocation(of: "tampered")["ID"]?.string ?? ""
            let failed = try await http.waitFor("the tampered allocation to fail") {
                try await http.get("/v1/allocation/\(badID)").json
            } until: { $0["ClientStatus"]?.string == "failed" }
            await simulator.shutdown()

            #expect(done["ClientStatus"]?.string == "complete")
            #expect(output == "plain artifact\nfrom the archive\n")
            let types = done["TaskStates"]?["main"]?["Events"]?.array?.compactMap { $0["Type"]?.string } ?? []
            #expect(types.contains("Downloading Artifacts"))
            let failure = failed["TaskStates"]?["main"]?["Events"]?.array?.last
            #expect(failure?["Type"]?.string == "Failed Artifact Download")
            #expect(failure?["DownloadError"]?.string?.contains("Checksums did not match") == true)
        }
    }
}
