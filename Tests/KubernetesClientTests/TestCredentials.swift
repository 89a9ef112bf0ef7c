import Foundation

/// A self-signed EC certificate and its key, only for kubeconfig parsing tests (never trusted anywhere).
enum TestCredentials {
    static let certificatePEM = """
-----BEGIN CERTIFICATE-----
MIIBtDCCAVugAwIBAgIUazbZ/8tjfKpqlajv39mERhTfB24wCgYIKoZIzj0EAwIw
LzEUMBIGA1UEAwwLdGVzdC1jbGllbnQxFzAVBgNVBAoMDnN5c3RlbTptYXN0ZXJz
MCAXDTI2MTEyNTIxMzU1MVoYDzIxMjYxMTAxMjEzNTUxWjAvMRQwEgYDVQQDDAt0
ZXN0LWNsaWVudDEXMBUGA1UECgwOc3lzdGVtOm1hc3RlcnMwWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAAQ13XKknjB5l/H7XUZkB1GGFqXqKl/pmtkMQLsLUPVe9d3q
gzIicuj1eFNtf2uoGLvpYpov1euqETXaKqzZwEk4o1MwUTAdBgNVHQ4EFgQU2J7E
wIdmwEQ+i1+8138NOYxTTQ4wHwYDVR0jBBgwFoAU2J7EwIdmwEQ+i1+8138NOYxT
TQ4wDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNHADBEAiBOKDoWdDmOOjTz
gyQzlpjIXKbAudyDh8ZMSBdyOuhTWwIgGN40dHoipvCKEepYNVe28ygD15MewN7y
mNSkJZBaMIE=
-----END CERTIFICATE-----
"""

    static let privateKeyPEM = """
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgL54903gCOJ+FjG0t
DWPl9KQDx1Mm8NRpmsdwY0lI9fGhRANCAAQ13XKknjB5l/H7XUZkB1GGFqXqKl/p
mtkMQLsLUPVe9d3qgzIicuj1eFNtf2uoGLvpYpov1euqETXaKqzZwEk4
-----END PRIVATE KEY-----
"""

    static var certificateBase64: String { Data(certificatePEM.utf8).base64EncodedString() }
    static var privateKeyBase64: String { Data(privateKeyPEM.utf8).base64EncodedString() }

    /// A fresh temporary folder, removed by the caller.
    static func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("k8s-client-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }
}
