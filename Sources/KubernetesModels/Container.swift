import Foundation

/// A container of a Pod; the agent runs each as a Nomad task.
public struct Container: Codable, Sendable, Hashable {
    public var name: String
    public var image: String?
    /// The entrypoint; replaces the image's.
    public var command: [String]?
    public var args: [String]?
    public var workingDir: String?
    public var ports: [ContainerPort]?
    public var envFrom: [EnvFromSource]?
    public var env: [EnvVar]?
    public var resources: ResourceRequirements?
    public var resizePolicy: [ContainerResizePolicy]?
    /// Only `Always`, on init containers: makes them sidecars.
    public var restartPolicy: String?
    public var volumeMounts: [VolumeMount]?
    public var volumeDevices: [VolumeDevice]?
    public var livenessProbe: Probe?
    public var readinessProbe: Probe?
    public var startupProbe: Probe?
    public var lifecycle: Lifecycle?
    public var terminationMessagePath: String?
    /// `File` (default) or `FallbackToLogsOnError`.
    public var terminationMessagePolicy: String?
    /// `Always`, `IfNotPresent` or `Never`.
    public var imagePullPolicy: String?
    public var securityContext: SecurityContext?
    public var stdin: Bool?
    public var stdinOnce: Bool?
    public var tty: Bool?

    /// Creates a `Container`.
    public init(
        name: String,
        image: String? = nil,
        command: [String]? = nil,
        args: [String]? = nil,
        workingDir: String? = nil,
        ports: [ContainerPort]? = nil,
        envFrom: [EnvFromSource]? = nil,
        env: [EnvVar]? = nil,
        resources: ResourceRequirements? = nil,
        resizePolicy: [ContainerResizePolicy]? = nil,
        restartPolicy: String? = nil,
        volumeMounts: [VolumeMount]? = nil,
        volumeDevices: [VolumeDevice]? = nil,
        livenessProbe: Probe? = nil,
        readinessProbe: Probe? = nil,
        startupProbe: Probe? = nil,
        lifecycle: Lifecycle? = nil,
        terminationMessagePath: String? = nil,
        terminationMessagePolicy: String? = nil,
        imagePullPolicy: String? = nil,
        securityContext: SecurityContext? = nil,
        stdin: Bool? = nil,
        stdinOnce: Bool? = nil,
        tty: Bool? = nil
    ) {
        self.name = name
        self.image = image
        self.command = command
        self.args = args
        self.workingDir = workingDir
        self.ports = ports
        self.envFrom = envFrom
        self.env = env
        self.resources = resources
        self.resizePolicy = resizePolicy
        self.restartPolicy = restartPolicy
        self.volumeMounts = volumeMounts
        self.volumeDevices = volumeDevices
        self.livenessProbe = livenessProbe
        self.readinessProbe = readinessProbe
        self.startupProbe = startupProbe
        self.lifecycle = lifecycle
        self.terminationMessagePath = terminationMessagePath
        self.terminationMessagePolicy = terminationMessagePolicy
        self.imagePullPolicy = imagePullPolicy
        self.securityContext = securityContext
        self.stdin = stdin
        self.stdinOnce = stdinOnce
        self.tty = tty
    }
}

/// A port a container listens on.
public struct ContainerPort: Codable, Sendable, Hashable {
    public var name: String?
    public var hostPort: Int?
    public var containerPort: Int
    /// `TCP` (default), `UDP` or `SCTP`.
    public var `protocol`: String?
    public var hostIP: String?

    /// Creates a `ContainerPort`.
    public init(name: String? = nil, hostPort: Int? = nil, containerPort: Int, `protocol`: String? = nil, hostIP: String? = nil) {
        self.name = name
        self.hostPort = hostPort
        self.containerPort = containerPort
        self.protocol = `protocol`
        self.hostIP = hostIP
    }
}

/// Whether changing a resource in place restarts the container.
public struct ContainerResizePolicy: Codable, Sendable, Hashable {
    public var resourceName: String
    public var restartPolicy: String

    /// Creates a `ContainerResizePolicy`.
    public init(resourceName: String, restartPolicy: String) {
        self.resourceName = resourceName
        self.restartPolicy = restartPolicy
    }
}

/// One environment variable: a literal `value` or a reference in `valueFrom`.
public struct EnvVar: Codable, Sendable, Hashable {
    public var name: String
    /// May reference other variables as `$(NAME)`.
    public var value: String?
    public var valueFrom: EnvVarSource?

    /// Creates an `EnvVar`.
    public init(name: String, value: String? = nil, valueFrom: EnvVarSource? = nil) {
        self.name = name
        self.value = value
        self.valueFrom = valueFrom
    }
}

/// Where an environment variable's value comes from; exactly one field is set.
public struct EnvVarSource: Codable, Sendable, Hashable {
    public var fieldRef: ObjectFieldSelector?
    public var resourceFieldRef: ResourceFieldSelector?
    public var configMapKeyRef: ConfigMapKeySelector?
    public var secretKeyRef: SecretKeySelector?
    public var fileKeyRef: FileKeySelector?

    /// Creates an `EnvVarSource`.
    public init(
        fieldRef: ObjectFieldSelector? = nil,
        resourceFieldRef: ResourceFieldSelector? = nil,
        configMapKeyRef: ConfigMapKeySelector? = nil,
        secretKeyRef: SecretKeySelector? = nil,
        fileKeyRef: FileKeySelector? = nil
    ) {
        self.fieldRef = fieldRef
        self.resourceFieldRef = resourceFieldRef
        self.configMapKeyRef = configMapKeyRef
        self.secretKeyRef = secretKeyRef
        self.fileKeyRef = fileKeyRef
    }
}

/// A field of the Pod, e.g. `metadata.name` or `status.podIP`.
public struct ObjectFieldSelector: Codable, Sendable, Hashable {
    public var apiVersion: String?
    public var fieldPath: String

    /// Creates an `ObjectFieldSelector`.
    public init(apiVersion: String? = nil, fieldPath: String) {
        self.apiVersion = apiVersion
        self.fieldPath = fieldPath
    }
}

/// A container's resource request or limit, e.g. `limits.memory`.
public struct ResourceFieldSelector: Codable, Sendable, Hashable {
    public var containerName: String?
    public var resource: String
    public var divisor: Quantity?

    /// Creates a `ResourceFieldSelector`.
    public init(containerName: String? = nil, resource: String, divisor: Quantity? = nil) {
        self.containerName = containerName
        self.resource = resource
        self.divisor = divisor
    }
}

/// A key of a ConfigMap.
public struct ConfigMapKeySelector: Codable, Sendable, Hashable {
    public var name: String?
    public var key: String
    /// When true, a missing ConfigMap or key leaves the variable unset instead of failing.
    public var optional: Bool?

    /// Creates a `ConfigMapKeySelector`.
    public init(name: String? = nil, key: String, optional: Bool? = nil) {
        self.name = name
        self.key = key
        self.optional = optional
    }
}

/// A key of a Secret.
public struct SecretKeySelector: Codable, Sendable, Hashable {
    public var name: String?
    public var key: String
    /// When true, a missing Secret or key leaves the variable unset instead of failing.
    public var optional: Bool?

    /// Creates a `SecretKeySelector`.
    public init(name: String? = nil, key: String, optional: Bool? = nil) {
        self.name = name
        self.key = key
        self.optional = optional
    }
}

/// A key in an env file on a volume of the Pod.
public struct FileKeySelector: Codable, Sendable, Hashable {
    public var volumeName: String
    public var path: String
    public var key: String
    public var optional: Bool?

    /// Creates a `FileKeySelector`.
    public init(volumeName: String, path: String, key: String, optional: Bool? = nil) {
        self.volumeName = volumeName
        self.path = path
        self.key = key
        self.optional = optional
    }
}

/// A ConfigMap or Secret whose keys all become environment variables.
public struct EnvFromSource: Codable, Sendable, Hashable {
    /// Prepended to every key.
    public var prefix: String?
    public var configMapRef: ConfigMapEnvSource?
    public var secretRef: SecretEnvSource?

    /// Creates an `EnvFromSource`.
    public init(prefix: String? = nil, configMapRef: ConfigMapEnvSource? = nil, secretRef: SecretEnvSource? = nil) {
        self.prefix = prefix
        self.configMapRef = configMapRef
        self.secretRef = secretRef
    }
}

/// The ConfigMap of an `envFrom` entry.
public struct ConfigMapEnvSource: Codable, Sendable, Hashable {
    public var name: String?
    public var optional: Bool?

    /// Creates a `ConfigMapEnvSource`.
    public init(name: String? = nil, optional: Bool? = nil) {
        self.name = name
        self.optional = optional
    }
}

/// The Secret of an `envFrom` entry.
public struct SecretEnvSource: Codable, Sendable, Hashable {
    public var name: String?
    public var optional: Bool?

    /// Creates a `SecretEnvSource`.
    public init(name: String? = nil, optional: Bool? = nil) {
        self.name = name
        self.optional = optional
    }
}

/// Compute resources: `requests` (what scheduling reserves) and `limits` (the ceiling).
public struct ResourceRequirements: Codable, Sendable, Hashable {
    public var limits: [String: Quantity]?
    public var requests: [String: Quantity]?
    public var claims: [JSONValue]?

    /// Creates a `ResourceRequirements`.
    public init(limits: [String: Quantity]? = nil, requests: [String: Quantity]? = nil, claims: [JSONValue]? = nil) {
        self.limits = limits
        self.requests = requests
        self.claims = claims
    }
}

/// Where a volume of the Pod appears in a container.
public struct VolumeMount: Codable, Sendable, Hashable {
    public var name: String
    public var readOnly: Bool?
    public var recursiveReadOnly: String?
    public var mountPath: String
    /// A path inside the volume to mount instead of its root.
    public var subPath: String?
    public var mountPropagation: String?
    public var subPathExpr: String?

    /// Creates a `VolumeMount`.
    public init(
        name: String,
        readOnly: Bool? = nil,
        recursiveReadOnly: String? = nil,
        mountPath: String,
        subPath: String? = nil,
        mountPropagation: String? = nil,
        subPathExpr: String? = nil
    ) {
        self.name = name
        self.readOnly = readOnly
        self.recursiveReadOnly = recursiveReadOnly
        self.mountPath = mountPath
        self.subPath = subPath
        self.mountPropagation = mountPropagation
        self.subPathExpr = subPathExpr
    }
}

/// A raw block volume exposed as a device.
public struct VolumeDevice: Codable, Sendable, Hashable {
    public var name: String
    public var devicePath: String

    /// Creates a `VolumeDevice`.
    public init(name: String, devicePath: String) {
        self.name = name
        self.devicePath = devicePath
    }
}

/// A health check: one handler plus timing and thresholds.
public struct Probe: Codable, Sendable, Hashable {
    public var exec: ExecAction?
    public var httpGet: HTTPGetAction?
    public var tcpSocket: TCPSocketAction?
    public var grpc: GRPCAction?
    public var initialDelaySeconds: Int?
    /// Default 1.
    public var timeoutSeconds: Int?
    /// Default 10.
    public var periodSeconds: Int?
    /// Default 1.
    public var successThreshold: Int?
    /// Default 3.
    public var failureThreshold: Int?
    public var terminationGracePeriodSeconds: Int64?

    /// Creates a `Probe`.
    public init(
        exec: ExecAction? = nil,
        httpGet: HTTPGetAction? = nil,
        tcpSocket: TCPSocketAction? = nil,
        grpc: GRPCAction? = nil,
        initialDelaySeconds: Int? = nil,
        timeoutSeconds: Int? = nil,
        periodSeconds: Int? = nil,
        successThreshold: Int? = nil,
        failureThreshold: Int? = nil,
        terminationGracePeriodSeconds: Int64? = nil
    ) {
        self.exec = exec
        self.httpGet = httpGet
        self.tcpSocket = tcpSocket
        self.grpc = grpc
        self.initialDelaySeconds = initialDelaySeconds
        self.timeoutSeconds = timeoutSeconds
        self.periodSeconds = periodSeconds
        self.successThreshold = successThreshold
        self.failureThreshold = failureThreshold
        self.terminationGracePeriodSeconds = terminationGracePeriodSeconds
    }
}

/// Runs a command in the container; exit status 0 is success.
public struct ExecAction: Codable, Sendable, Hashable {
    public var command: [String]?

    /// Creates an `ExecAction`.
    public init(command: [String]? = nil) {
        self.command = command
    }
}

/// An HTTP GET against the container; 2xx and 3xx are success.
public struct HTTPGetAction: Codable, Sendable, Hashable {
    public var path: String?
    /// A number or the name of a container port.
    public var port: IntOrString
    /// Defaults to the Pod IP.
    public var host: String?
    /// `HTTP` (default) or `HTTPS`.
    public var scheme: String?
    public var httpHeaders: [HTTPHeader]?

    /// Creates a `HTTPGetAction`.
    public init(
        path: String? = nil,
        port: IntOrString,
        host: String? = nil,
        scheme: String? = nil,
        httpHeaders: [HTTPHeader]? = nil
    ) {
        self.path = path
        self.port = port
        self.host = host
        self.scheme = scheme
        self.httpHeaders = httpHeaders
    }
}

/// A header sent by an HTTP probe.
public struct HTTPHeader: Codable, Sendable, Hashable {
    public var name: String
    public var value: String

    /// Creates a `HTTPHeader`.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// Opens a TCP connection; success when it connects.
public struct TCPSocketAction: Codable, Sendable, Hashable {
    public var port: IntOrString
    public var host: String?

    /// Creates a `TCPSocketAction`.
    public init(port: IntOrString, host: String? = nil) {
        self.port = port
        self.host = host
    }
}

/// Calls the gRPC health checking protocol.
public struct GRPCAction: Codable, Sendable, Hashable {
    public var port: Int
    public var service: String?

    /// Creates a `GRPCAction`.
    public init(port: Int, service: String? = nil) {
        self.port = port
        self.service = service
    }
}

/// Waits before continuing (a lifecycle hook).
public struct SleepAction: Codable, Sendable, Hashable {
    public var seconds: Int64

    /// Creates a `SleepAction`.
    public init(seconds: Int64) {
        self.seconds = seconds
    }
}

/// Hooks run after a container starts and before it is stopped.
public struct Lifecycle: Codable, Sendable, Hashable {
    public var postStart: LifecycleHandler?
    public var preStop: LifecycleHandler?
    public var stopSignal: String?

    /// Creates a `Lifecycle`.
    public init(postStart: LifecycleHandler? = nil, preStop: LifecycleHandler? = nil, stopSignal: String? = nil) {
        self.postStart = postStart
        self.preStop = preStop
        self.stopSignal = stopSignal
    }
}

/// One lifecycle hook: exactly one action is set.
public struct LifecycleHandler: Codable, Sendable, Hashable {
    public var exec: ExecAction?
    public var httpGet: HTTPGetAction?
    public var tcpSocket: TCPSocketAction?
    public var sleep: SleepAction?

    /// Creates a `LifecycleHandler`.
    public init(
        exec: ExecAction? = nil,
        httpGet: HTTPGetAction? = nil,
        tcpSocket: TCPSocketAction? = nil,
        sleep: SleepAction? = nil
    ) {
        self.exec = exec
        self.httpGet = httpGet
        self.tcpSocket = tcpSocket
        self.sleep = sleep
    }
}
