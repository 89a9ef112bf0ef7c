import NIOCore

/// Turns `SPDYFrame`s into bytes, deflating header blocks with the connection's single deflate
/// context for this side's direction (so every frame must pass through the same encoder, in order).
/// Copies share the deflate context. Header blocks use zlib's default level, as the kubelet side of
/// the recording does; kube-apiserver (Go) uses another level, which decodes the same.
public struct SPDYFrameEncoder {
    private let deflater = SPDYHeaderDeflater()

    /// An encoder for one direction of one connection.
    public init() {}

    /// Appends `frame` to `buffer`.
    public mutating func encode(_ frame: SPDYFrame, into buffer: inout ByteBuffer) throws {
        let start = buffer.writerIndex
        switch frame.payload {
        case .data(let data, let fin):
            guard data.readableBytes <= 0xFF_FFFF else {
                throw SPDYError.frameTooLarge(type: "DATA", length: data.readableBytes, limit: 0xFF_FFFF)
            }
            buffer.writeInteger(frame.streamID.rawValue)
            buffer.writeInteger(UInt32(fin ? SPDYWire.flagFin : 0) << 24 | UInt32(data.readableBytes))
            buffer.writeImmutableBuffer(data)
            return
        case .synStream(let syn):
            var flags: UInt8 = syn.fin ? SPDYWire.flagFin : 0
            if syn.unidirectional { flags |= SPDYWire.flagUnidirectional }
            writeControlHeader(.synStream, flags: flags, into: &buffer)
            buffer.writeInteger(frame.streamID.rawValue)
            buffer.writeInteger(syn.associatedStreamID.rawValue)
            buffer.writeInteger(syn.priority << 5)
            buffer.writeInteger(syn.slot)
            try deflater.compress(SPDYNameValueBlock.encode(syn.headers), into: &buffer)
        case .synReply(let headers, let fin):
            writeControlHeader(.synReply, flags: fin ? SPDYWire.flagFin : 0, into: &buffer)
            buffer.writeInteger(frame.streamID.rawValue)
            try deflater.compress(SPDYNameValueBlock.encode(headers), into: &buffer)
        case .rstStream(let status):
            writeControlHeader(.rstStream, flags: 0, into: &buffer)
            buffer.writeInteger(frame.streamID.rawValue)
            buffer.writeInteger(status.rawValue)
        case .settings(let settings, let clear):
            writeControlHeader(.settings, flags: clear ? SPDYWire.flagClearSettings : 0, into: &buffer)
            buffer.writeInteger(UInt32(settings.count))
            for setting in settings {
                buffer.writeInteger(UInt32(setting.flags) << 24 | setting.identifier.rawValue)
                buffer.writeInteger(setting.value)
            }
        case .ping(let id):
            writeControlHeader(.ping, flags: 0, into: &buffer)
            buffer.writeInteger(id)
        case .goAway(let lastGood, let status):
            writeControlHeader(.goAway, flags: 0, into: &buffer)
            buffer.writeInteger(lastGood.rawValue)
            buffer.writeInteger(status.rawValue)
        case .headers(let headers, let fin):
            writeControlHeader(.headers, flags: fin ? SPDYWire.flagFin : 0, into: &buffer)
            buffer.writeInteger(frame.streamID.rawValue)
            try deflater.compress(SPDYNameValueBlock.encode(headers), into: &buffer)
        case .windowUpdate(let delta):
            writeControlHeader(.windowUpdate, flags: 0, into: &buffer)
            buffer.writeInteger(frame.streamID.rawValue)
            buffer.writeInteger(delta & 0x7FFF_FFFF)
        }
        let length = buffer.writerIndex - start - SPDYWire.frameHeaderSize
        guard length <= 0xFF_FFFF else {
            buffer.moveWriterIndex(to: start)
            throw SPDYError.frameTooLarge(type: "control", length: length, limit: 0xFF_FFFF)
        }
        let flags = buffer.getInteger(at: start + 4, as: UInt8.self)!
        buffer.setInteger(UInt32(flags) << 24 | UInt32(length), at: start + 4)
    }

    private func writeControlHeader(_ type: SPDYWire.ControlType, flags: UInt8, into buffer: inout ByteBuffer) {
        buffer.writeInteger(0x8000 | SPDYWire.version)
        buffer.writeInteger(type.rawValue)
        buffer.writeInteger(UInt32(flags) << 24)  // length patched in once the payload is written
    }
}
