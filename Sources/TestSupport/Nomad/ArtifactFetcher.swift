import Crypto
import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Downloads a task artifact (go-getter's http/https subset): verifies the `checksum` option
/// (`sha256:`, `sha512:`, `sha1:`, `md5:`) and unpacks `.tar.gz`/`.tgz`/`.tar`/`.zip` archives.
enum ArtifactFetcher {
    static func fetch(source: String, options: [String: String], into directory: URL) async throws(LaunchFailure) {
        guard let url = URL(string: source), ["http", "https"].contains(url.scheme?.lowercased() ?? "") else {
            throw LaunchFailure(message: "unsupported artifact source \(source): the simulator fetches http(s) URLs only")
        }
        let data: Data
        do {
            let (body, response) = try await URLSession.shared.data(from: url)
            if let status = (response as? HTTPURLResponse)?.statusCode, !(200..<300).contains(status) {
                throw LaunchFailure(message: "bad response code: \(status)")
            }
            data = body
        } catch let failure as LaunchFailure {
            throw failure
        } catch {
            throw LaunchFailure(message: "\(source): \(error.localizedDescription)")
        }
        if let checksum = options["checksum"] {
            try verify(data, checksum: checksum)
        }
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw LaunchFailure(message: "cannot create \(directory.path): \(error.localizedDescription)")
        }
        let name = url.lastPathComponent.isEmpty ? "artifact" : url.lastPathComponent
        let archive = options["archive"] != "false" ? archiveKind(name) : nil
        let target = directory.appendingPathComponent(archive == nil ? name : ".\(name).download")
        do {
            try data.write(to: target)
        } catch {
            throw LaunchFailure(message: "cannot write \(target.path): \(error.localizedDescription)")
        }
        guard let archive else { return }
        defer { try? FileManager.default.removeItem(at: target) }
        let command: [String] =
            archive == "zip" ? ["unzip", "-o", "-q", target.path, "-d", directory.path] : ["tar", "-xf", target.path, "-C", directory.path]
        let spec = LaunchSpec(
            command: command[0], arguments: Array(command.dropFirst()), environment: ProcessInfo.processInfo.environment,
            workingDirectory: directory.path, user: nil)
        let pid = try await ProcessLauncher.spawn(spec, stdout: -1, stderr: -1)
        let exit = await ProcessLauncher.wait(for: pid)
        if exit.exitCode != 0 {
            throw LaunchFailure(message: "error unpacking \(name): \(command[0]) exited with \(exit.exitCode)")
        }
    }

    private static func archiveKind(_ name: String) -> String? {
        let lower = name.lowercased()
        if lower.hasSuffix(".zip") { return "zip" }
        if lower.hasSuffix(".tar.gz") || lower.hasSuffix(".tgz") || lower.hasSuffix(".tar") || lower.hasSuffix(".tar.bz2") || lower.hasSuffix(".tar.xz") {
            return "tar"
        }
        return nil
    }

    private static func verify(_ data: Data, checksum: String) throws(LaunchFailure) {
        let parts = checksum.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw LaunchFailure(message: "invalid checksum \(checksum): expected type:value") }
        let actual: String
        switch parts[0].lowercased() {
        case "sha256": actual = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
        case "sha512": actual = SHA512.hash(data: data).map { String(format: "%02x", $0) }.joined()
        case "sha1": actual = Insecure.SHA1.hash(data: data).map { String(format: "%02x", $0) }.joined()
        case "md5": actual = Insecure.MD5.hash(data: data).map { String(format: "%02x", $0) }.joined()
        default: throw LaunchFailure(message: "unsupported checksum type: \(parts[0])")
        }
        guard actual == parts[1].lowercased() else {
            throw LaunchFailure(message: "Checksums did not match for artifact.\nExpected: \(parts[1])\nGot: \(actual)\n\(parts[0])")
        }
    }
}
