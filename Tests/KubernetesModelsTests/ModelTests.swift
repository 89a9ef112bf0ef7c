import Foundation
import KubernetesModels
import Testing

@Suite("Models")
struct ModelTests {
    @Test("objects built in code carry apiVersion and kind and encode only what was set")
    func builtInCode() throws {
        let pod = Pod(
            metadata: ObjectMeta(name: "web", namespace: "default"),
            spec: PodSpec(containers: [Container(name: "web", image: "nomad-kubelet.io/host", command: ["/bin/true"])])
        )
        let json = try JSONValue(encoding: pod)
        #expect(
            json == [
                "apiVersion": "v1", "kind": "Pod", "metadata": ["name": "web", "namespace": "default"],
                "spec": ["containers": [["name": "web", "image": "nomad-kubelet.io/host", "command": ["/bin/true"]]]],
            ]
        )
        #expect(Lease().apiVersion == "coordination.k8s.io/v1")
        #expect(CertificateSigningRequest().kind == "CertificateSigningRequest")
        #expect(StorageClass.apiVersion == "storage.k8s.io/v1")
        #expect(RuntimeClass.apiVersion == "node.k8s.io/v1" && !RuntimeClass.isNamespaced)
        #expect(PersistentVolumeClaim.plural == "persistentvolumeclaims" && PersistentVolumeClaim.isNamespaced)
    }

    @Test("null where the server writes null, and bodies without metadata, decode")
    func nulls() throws {
        let bookmark = try JSONDecoder().decode(
            WatchEvent<Pod>.self,
            from: Data(#"{"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"9"},"spec":{"containers":null},"status":{}}}"#.utf8)
        )
        #expect(bookmark.object?.spec?.containers == [])
        let list = try JSONDecoder().decode(ResourceList<Node>.self, from: Data(#"{"kind":"NodeList","metadata":{},"items":null}"#.utf8))
        #expect(list.items.isEmpty)
        let review = try JSONDecoder().decode(
            TokenReview.self,
            from: Data(#"{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"t"}}"#.utf8)
        )
        #expect(review.spec.token == "t")
        #expect(review.metadata == ObjectMeta())
    }

    @Test("the round-trip check reports fields a model does not know")
    func roundTripCheckReportsLoss() throws {
        let body = Data(#"{"kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[],"futureField":true},"status":{"phase":null}}"#.utf8)
        #expect(try JSONComparison.roundTripDifferences(Pod.self, body) == ["spec.futureField lost"])
    }

    @Test("an ERROR watch event carries a Status, not the watched type")
    func watchError() throws {
        let line = #"{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 1 (602)","reason":"Expired","code":410}}"#
        let event = try JSONDecoder().decode(WatchEvent<Pod>.self, from: Data(line.utf8))
        #expect(event.type == .error)
        #expect(event.object == nil)
        #expect(event.status?.code == 410)
        #expect(event.status?.reason == "Expired")
        #expect(try JSONComparison.roundTripDifferences(WatchEvent<Pod>.self, Data(line.utf8)).isEmpty)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(WatchEvent<Pod>.self, from: Data(#"{"type":"SURPRISE","object":{}}"#.utf8))
        }
    }

    /// A pod using every field the agent reads, with upstream's field names (see the OpenAPI
    /// documents in TestSupport): it must survive a round trip unchanged.
    static let fullPod = #"""
        {"apiVersion":"v1","kind":"Pod","metadata":{"name":"full","namespace":"default"},
         "spec":{
          "initContainers":[{"name":"setup","image":"busybox","command":["sh","-c"],"args":["echo hi"],"restartPolicy":"Always"}],
          "containers":[{"name":"app","image":"nomad-kubelet.io/host","command":["/bin/server"],"args":["--port","8080"],
            "workingDir":"/srv","ports":[{"name":"http","containerPort":8080,"protocol":"TCP","hostPort":18080}],
            "env":[{"name":"A","value":"1"},
                   {"name":"POD","valueFrom":{"fieldRef":{"apiVersion":"v1","fieldPath":"metadata.name"}}},
                   {"name":"MEM","valueFrom":{"resourceFieldRef":{"containerName":"app","resource":"limits.memory","divisor":"1Mi"}}},
                   {"name":"C","valueFrom":{"configMapKeyRef":{"name":"cm","key":"k","optional":true}}},
                   {"name":"S","valueFrom":{"secretKeyRef":{"name":"sec","key":"k","optional":false}}}],
            "envFrom":[{"prefix":"CM_","configMapRef":{"name":"cm"}},{"secretRef":{"name":"sec","optional":true}}],
            "resources":{"requests":{"cpu":"250m","memory":"64Mi"},"limits":{"cpu":"1","memory":"128Mi"}},
            "volumeMounts":[{"name":"data","mountPath":"/data","subPath":"app","readOnly":true}],
            "livenessProbe":{"httpGet":{"path":"/healthz","port":"http","scheme":"HTTP","httpHeaders":[{"name":"X","value":"y"}]},
              "initialDelaySeconds":5,"periodSeconds":10,"timeoutSeconds":1,"successThreshold":1,"failureThreshold":3,"terminationGracePeriodSeconds":10},
            "readinessProbe":{"tcpSocket":{"port":8080}},
            "startupProbe":{"exec":{"command":["cat","/ready"]}},
            "lifecycle":{"postStart":{"exec":{"command":["touch","/started"]}},"preStop":{"sleep":{"seconds":5}}},
            "securityContext":{"runAsUser":1000,"runAsGroup":1000,"runAsNonRoot":true,"privileged":false,
              "capabilities":{"add":["NET_BIND_SERVICE"],"drop":["ALL"]},"readOnlyRootFilesystem":true,"allowPrivilegeEscalation":false},
            "stdin":true,"tty":true,"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"FallbackToLogsOnError",
            "imagePullPolicy":"IfNotPresent"},
           {"name":"grpc","image":"x","readinessProbe":{"grpc":{"port":9090,"service":"health"}}}],
          "volumes":[{"name":"scratch","emptyDir":{"medium":"Memory","sizeLimit":"1Gi"}},
            {"name":"cm","configMap":{"name":"cm","items":[{"key":"k","path":"p","mode":256}],"defaultMode":420,"optional":true}},
            {"name":"sec","secret":{"secretName":"sec","defaultMode":384}},
            {"name":"info","downwardAPI":{"items":[{"path":"labels","fieldRef":{"fieldPath":"metadata.labels"}}]}},
            {"name":"host","hostPath":{"path":"/var/log","type":"Directory"}},
            {"name":"data","persistentVolumeClaim":{"claimName":"data","readOnly":false}},
            {"name":"token","projected":{"sources":[{"serviceAccountToken":{"audience":"vault","expirationSeconds":600,"path":"token"}},
              {"secret":{"name":"sec","items":[{"key":"k","path":"k"}]}}],"defaultMode":420}}],
          "restartPolicy":"OnFailure","terminationGracePeriodSeconds":45,"activeDeadlineSeconds":600,"nodeName":"vk-nomad",
          "nodeSelector":{"type":"virtual-kubelet"},"tolerations":[{"key":"virtual-kubelet.io/provider","operator":"Exists","effect":"NoSchedule"}],
          "affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"type","operator":"In","values":["virtual-kubelet"]}]}]}}},
          "serviceAccountName":"default","automountServiceAccountToken":false,"runtimeClassName":"nomad",
          "securityContext":{"runAsUser":1000,"fsGroup":2000,"supplementalGroups":[3000],"sysctls":[{"name":"net.core.somaxconn","value":"1024"}],
            "seccompProfile":{"type":"RuntimeDefault"}},
          "hostNetwork":true,"hostPID":false,"hostIPC":false,"hostname":"full","subdomain":"svc","dnsPolicy":"ClusterFirstWithHostNet",
          "priority":1000,"schedulerName":"default-scheduler","enableServiceLinks":false,"readinessGates":[{"conditionType":"example.com/ready"}]},
         "status":{"phase":"Failed","reason":"DeadlineExceeded","message":"Pod was active too long",
          "initContainerStatuses":[{"name":"setup","state":{"terminated":{"exitCode":0,"reason":"Completed","startedAt":"2026-11-25T20:50:45Z","finishedAt":"2026-11-25T20:50:46Z"}},
            "ready":true,"started":true,"restartCount":0,"image":"busybox","imageID":"","containerID":"nomad://a/setup"}],
          "containerStatuses":[{"name":"app","state":{"waiting":{"reason":"CrashLoopBackOff","message":"back-off 10s"}},
            "lastState":{"terminated":{"exitCode":137,"signal":9,"reason":"Error","containerID":"nomad://a/app"}},
            "ready":false,"started":false,"restartCount":3,"image":"nomad-kubelet.io/host","imageID":""}]}}
        """#

    @Test("a pod with every field the agent reads round-trips unchanged")
    func fullPodRoundTrip() throws {
        let data = Data(Self.fullPod.utf8)
        #expect(try JSONComparison.roundTripDifferences(Pod.self, data) == [])
        let pod = try JSONDecoder().decode(Pod.self, from: data)
        let app = try #require(pod.spec?.containers.first)
        #expect(app.livenessProbe?.httpGet?.port == "http")
        #expect(app.readinessProbe?.tcpSocket?.port == 8080)
        #expect(app.lifecycle?.preStop?.sleep?.seconds == 5)
        #expect(app.env?[2].valueFrom?.resourceFieldRef?.divisor?.value == 1_048_576)
        #expect(app.resources?.requests?["cpu"]?.milliValue == 250)
        #expect(pod.spec?.initContainers?.first?.restartPolicy == "Always")
        #expect(pod.status?.containerStatuses?.first?.lastState?.terminated?.exitCode == 137)
        #expect(pod.status?.containerStatuses?.first?.restartCount == 3)
        #expect(pod.spec?.affinity?["nodeAffinity"] != nil)
    }

    @Test("persistent volumes, storage and runtime classes round-trip")
    func storageAndRuntime() throws {
        let bodies: [(any (Codable & Hashable).Type, String)] = [
            (PersistentVolume.self, #"""
            {"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"pv"},
             "spec":{"capacity":{"storage":"10Gi"},"accessModes":["ReadWriteOnce"],"persistentVolumeReclaimPolicy":"Retain",
              "storageClassName":"local","local":{"path":"/mnt/disk"},
              "claimRef":{"kind":"PersistentVolumeClaim","namespace":"default","name":"data","uid":"u"},
              "nodeAffinity":{"required":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"kubernetes.io/hostname","operator":"In","values":["vk-nomad"]}]}]}}},
             "status":{"phase":"Bound","lastPhaseTransitionTime":"2026-11-25T20:50:45Z"}}
            """#),
            (PersistentVolumeClaim.self, #"""
            {"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"data","namespace":"default"},
             "spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}},"storageClassName":"local","volumeName":"pv",
              "volumeMode":"Filesystem","selector":{"matchLabels":{"a":"b"}}},
             "status":{"phase":"Bound","accessModes":["ReadWriteOnce"],"capacity":{"storage":"10Gi"}}}
            """#),
            (StorageClass.self, #"""
            {"apiVersion":"storage.k8s.io/v1","kind":"StorageClass","metadata":{"name":"local"},"provisioner":"kubernetes.io/no-provisioner",
             "reclaimPolicy":"Delete","volumeBindingMode":"WaitForFirstConsumer","allowVolumeExpansion":false,"parameters":{"a":"b"}}
            """#),
            (RuntimeClass.self, #"""
            {"apiVersion":"node.k8s.io/v1","kind":"RuntimeClass","metadata":{"name":"nomad"},"handler":"nomad",
             "overhead":{"podFixed":{"memory":"32Mi"}},
             "scheduling":{"nodeSelector":{"type":"virtual-kubelet"},"tolerations":[{"key":"virtual-kubelet.io/provider","operator":"Exists"}]}}
            """#),
            (Namespace.self, #"""
            {"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team"},"spec":{"finalizers":["kubernetes"]},"status":{"phase":"Active"}}
            """#),
            (Secret.self, #"""
            {"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"type":"Opaque","data":{"password":"aHVudGVyMg=="},"immutable":true}
            """#),
        ]
        for (type, body) in bodies {
            #expect(try JSONComparison.roundTripDifferences(type, Data(body.utf8)) == [], "\(type)")
        }
    }

    @Test("secret values decode from base64, and bad base64 names the secret and key")
    func secretValues() throws {
        var secret = Secret(metadata: ObjectMeta(name: "db", namespace: "default"), values: ["password": Data("hunter2".utf8)])
        #expect(secret.data == ["password": "aHVudGVyMg=="])
        #expect(try secret.string(forKey: "password") == "hunter2")
        #expect(try secret.value(forKey: "missing") == nil)
        secret.setValue(Data([0, 1]), forKey: "raw")
        #expect(try secret.decodedData() == ["password": Data("hunter2".utf8), "raw": Data([0, 1])])
        secret.data?["broken"] = "%%%"
        #expect {
            try secret.decodedData()
        } throws: { error in
            "\(error)".contains("secret default/db: the value of 'broken' is not valid base64")
        }
        let configMap = ConfigMap(metadata: ObjectMeta(name: "bin"), binaryData: ["blob": "AAE="])
        #expect(try configMap.binaryValue(forKey: "blob") == Data([0, 1]))
    }

    @Test("an event built about a pod references it")
    func eventReference() throws {
        var pod = Pod(metadata: ObjectMeta(name: "web", namespace: "default"))
        pod.metadata.uid = "u-1"
        let event = Event(
            metadata: ObjectMeta(name: "web.started", namespace: "default"),
            involvedObject: ObjectReference(to: pod, fieldPath: "spec.containers{web}"),
            reason: "Started", type: "Normal", eventTime: MicroTime(Date(timeIntervalSince1970: 1.5))
        )
        #expect(event.involvedObject == ObjectReference(kind: "Pod", namespace: "default", name: "web", uid: "u-1", apiVersion: "v1", fieldPath: "spec.containers{web}"))
        #expect(try JSONValue(encoding: event)["eventTime"] == "1970-01-01T00:00:01.500000Z")
        #expect(TokenRequest.serviceAccountTokenPath(namespace: "ns", serviceAccount: "sa") == "/api/v1/namespaces/ns/serviceaccounts/sa/token")
    }
}
