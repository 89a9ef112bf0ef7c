import Foundation
import KubernetesModels
import NomadModels
import Testing
import Translation

/// Runs the volume setup wrapper and the update command with /bin/sh in a task directory laid out
/// as Nomad lays it out, and checks what a process would see.
@Suite("Volumes: the setup wrapper and the in-place update, run for real")
struct VolumeScriptTests {
    /// A fake allocation: `<root>/alloc` shared, `<root>/web/{local,secrets}` the task's.
    struct TaskDirectory {
        let root: URL
        var taskDirectory: URL { root.appendingPathComponent("web") }
        var environment: [String: String] {
            [
                "PATH": "/usr/local/bin:/usr/bin:/bin", "NOMAD_TASK_DIR": taskDirectory.appendingPathComponent("local").path,
                "NOMAD_SECRETS_DIR": taskDirectory.appendingPathComponent("secrets").path, "NOMAD_ALLOC_DIR": root.appendingPathComponent("alloc").path,
                VolumeSetup.rootVariable: taskDirectory.appendingPathComponent("local").path + "/..",
            ]
        }

        init() throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("volume-script-\(UUID().uuidString.prefix(8))")
            for directory in ["alloc", "web/local", "web/secrets"] {
                try FileManager.default.createDirectory(at: root.appendingPathComponent(directory), withIntermediateDirectories: true)
            }
        }

        /// Writes the task's templates as Nomad renders them (in the simulator's renderer's place: plain text only here).
        func renderTemplates(of task: NomadTask) throws {
            for template in task.templates ?? [] {
                let destination = taskDirectory.appendingPathComponent(template.destPath ?? "")
                try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data((template.embeddedTmpl ?? "").utf8).write(to: destination)
                try FileManager.default.setAttributes([.posixPermissions: Int(template.perms ?? "644", radix: 8)!], ofItemAtPath: destination.path)
            }
        }

        /// Runs argv in the task directory; returns exit code, stdout and stderr.
        func run(_ argv: [String], stdin: Data? = nil) throws -> (status: Int32, out: String, err: String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: argv[0])
            process.arguments = Array(argv.dropFirst())
            process.environment = environment
            process.currentDirectoryURL = taskDirectory
            let out = Pipe()
            let err = Pipe()
            let input = Pipe()
            process.standardOutput = out
            process.standardError = err
            process.standardInput = input
            try process.run()
            if let stdin { input.fileHandleForWriting.write(stdin) }
            try input.fileHandleForWriting.close()
            let output = out.fileHandleForReading.readDataToEndOfFile()
            let error = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: output, as: UTF8.self), String(decoding: error, as: UTF8.self))
        }

        func remove() { try? FileManager.default.removeItem(at: root) }
    }

    /// The task's argv with the program replaced by `program`.
    static func argv(_ task: NomadTask, program: [String]) -> [String] {
        let args = task.config?.args ?? []
        let end = args.firstIndex(of: "--")!
        return [task.config!.command!] + Array(args[...end]) + program
    }

    @Test("the process reads configMap files at its mount path, and an update swaps them in place without touching the process")
    func configMapLayoutAndUpdate() throws {
        let directory = try TaskDirectory()
        defer { directory.remove() }
        let translation = try VolumeFixtures.translate(VolumeFixtures.pod(Volume(name: "config", configMap: ConfigMapVolumeSource(name: "app-config"))))
        let task = VolumeFixtures.task(translation)
        try directory.renderTemplates(of: task)

        let started = try directory.run(Self.argv(task, program: ["/bin/sh", "-c", "cat \"$NOMAD_KUBELET_ROOT/etc/app/app.conf\" \"$NOMAD_KUBELET_ROOT/etc/app/motd\""]))
        #expect(started.status == 0, "\(started.err)")
        #expect(started.out == "level=debug\nhello")

        var files = try #require(translation.volumeFiles.first).files
        files[0].data = Data("level=info\n".utf8)
        files.remove(at: 1)
        files.append(VolumeFile(path: "sub/new.conf", mode: 0o600, data: Data("new".utf8)))
        let update = try directory.run(VolumeFileSync.updateCommand(mountPath: "/etc/app"), stdin: VolumeFileSync.archive(files))
        #expect(update.status == 0, "\(update.err)")

        let mount = directory.taskDirectory.appendingPathComponent("etc/app")
        #expect(try String(contentsOf: mount.appendingPathComponent("app.conf"), encoding: .utf8) == "level=info\n")
        #expect(try String(contentsOf: mount.appendingPathComponent("sub/new.conf"), encoding: .utf8) == "new")
        #expect(!FileManager.default.fileExists(atPath: mount.appendingPathComponent("motd").path), "a key that went away is gone")
        let attributes = try FileManager.default.attributesOfItem(atPath: mount.appendingPathComponent("sub/new.conf").path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: mount.appendingPathComponent("app.conf").path) == "..data/app.conf")

        // A restart of the task keeps the updated files (the seed is only the first content).
        let restarted = try directory.run(Self.argv(task, program: ["/bin/cat", "etc/app/app.conf"]))
        #expect(restarted.out == "level=info\n", "\(restarted.err)")
    }

    @Test("emptyDir is one directory of the allocation for every task that mounts it")
    func emptyDirShared() throws {
        let directory = try TaskDirectory()
        defer { directory.remove() }
        let task = VolumeFixtures.task(try VolumeFixtures.translate(VolumeFixtures.pod(Volume(name: "shared", emptyDir: EmptyDirVolumeSource()), mountPath: "/data")))
        let wrote = try directory.run(Self.argv(task, program: ["/bin/sh", "-c", "echo hi > \"$NOMAD_KUBELET_ROOT/data/f\""]))
        #expect(wrote.status == 0, "\(wrote.err)")
        let shared = directory.root.appendingPathComponent("alloc/nomad-kubelet-volumes/shared/f")
        #expect(try String(contentsOf: shared, encoding: .utf8) == "hi\n")
    }

    @Test("hostPath: the process sees the host path; a symlink under the root that escapes it is refused at start")
    func hostPathSymlinkEscape() throws {
        let directory = try TaskDirectory()
        defer { directory.remove() }
        let hostRoot = directory.root.appendingPathComponent("host")
        try FileManager.default.createDirectory(at: hostRoot.appendingPathComponent("data"), withIntermediateDirectories: true)
        try Data("on the host".utf8).write(to: hostRoot.appendingPathComponent("data/file"))
        try FileManager.default.createSymbolicLink(atPath: hostRoot.appendingPathComponent("escape").path, withDestinationPath: "/etc")
        var policy = Fixtures.policy
        policy.hostPathRoots = [hostRoot.path]

        let good = VolumeFixtures.task(
            try VolumeFixtures.translate(VolumeFixtures.pod(Volume(name: "h", hostPath: HostPathVolumeSource(path: hostRoot.path + "/data", type: "Directory")), mountPath: "/mnt/h"), policy: policy))
        let read = try directory.run(Self.argv(good, program: ["/bin/cat", "mnt/h/file"]))
        #expect(read.out == "on the host", "\(read.err)")

        let escaping = VolumeFixtures.task(
            try VolumeFixtures.translate(VolumeFixtures.pod(Volume(name: "h", hostPath: HostPathVolumeSource(path: hostRoot.path + "/escape")), mountPath: "/mnt/e"), policy: policy))
        let refused = try directory.run(Self.argv(escaping, program: ["/bin/true"]))
        #expect(refused.status != 0)
        #expect(refused.err.contains("resolves outside the allowed root"))

        let wrongType = VolumeFixtures.task(
            try VolumeFixtures.translate(VolumeFixtures.pod(Volume(name: "h", hostPath: HostPathVolumeSource(path: hostRoot.path + "/data/file", type: "Directory")), mountPath: "/mnt/t"), policy: policy))
        let typeRefused = try directory.run(Self.argv(wrongType, program: ["/bin/true"]))
        #expect(typeRefused.status != 0 && typeRefused.err.contains("is not a directory"))
    }
}
