import Foundation
import Hummingbird
import NIOCore
import NIOFoundationCompat

/// `/v1/var/:path` and `/v1/vars` (Nomad 1.4+), served when the simulated version has them.
extension NomadRoutes {
    func registerVariables(on router: Router<Context>) {
        @Sendable func path(_ request: Request) -> String {
            String(request.uri.path.dropFirst("/v1/var/".count)).removingPercentEncoding ?? ""
        }
        router.get("/v1/vars") { request, _ in
            let prefix = request.uri.queryParameters.get("prefix") ?? ""
            let namespace = Self.namespace(request)
            let result = await blocking(request) {
                let list = await cluster.variables(namespace: namespace, prefix: prefix)
                return (.array(list.map { $0.record.json(namespace: namespace, path: $0.path, withItems: false) }), await cluster.index(of: "variables"))
            }
            guard let (body, index) = result else { return Self.json([]) }
            return Self.json(body, index: index)
        }
        router.get("/v1/var/**") { request, _ in
            let namespace = Self.namespace(request)
            guard let record = await cluster.variable(namespace: namespace, path: path(request)) else {
                return Self.text("variable not found", status: .notFound, index: await cluster.index(of: "variables"))
            }
            return Self.json(record.json(namespace: namespace, path: path(request), withItems: true), index: record.modifyIndex)
        }
        router.put("/v1/var/**") { request, _ in
            guard let buffer = try? await request.body.collect(upTo: 16 << 20) else { return Self.text("unexpected EOF", status: .badRequest) }
            let body: WireJSON
            do {
                body = try WireJSON.parse(Data(buffer: buffer))
            } catch {
                return Self.text(Self.decodeErrorText(error), status: .badRequest)
            }
            let variablePath = path(request)
            guard !variablePath.isEmpty, (body["Path"]?.string ?? variablePath) == variablePath else {
                return Self.text("variable path in URL does not match the body", status: .badRequest)
            }
            let items = (body["Items"]?.object ?? [:]).compactMapValues(\.string)
            guard !items.isEmpty else { return Self.text("variable missing required Items object", status: .badRequest) }
            let namespace = Self.namespace(request)
            let (record, index) = await cluster.putVariable(namespace: namespace, path: variablePath, items: items)
            return Self.json(record.json(namespace: namespace, path: variablePath, withItems: true), index: index)
        }
        router.delete("/v1/var/**") { request, _ in
            let index = await cluster.deleteVariable(namespace: Self.namespace(request), path: path(request))
            var headers: HTTPFields = [:]
            Self.addIndexHeaders(&headers, index)
            return Response(status: .noContent, headers: headers)
        }
    }
}
