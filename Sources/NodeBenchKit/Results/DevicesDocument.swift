/// What `nodebench devices --json` prints: the node description with the tool that produced it.
public struct DevicesDocument: Encodable, Sendable {
    public var schemaVersion: Int
    public var tool: ToolInfo
    public var node: NodeDescription

    public init(tool: ToolInfo, node: NodeDescription) {
        schemaVersion = RunDocument.currentSchemaVersion
        self.tool = tool
        self.node = node
    }

    private enum CodingKeys: String, CodingKey { case schemaVersion, tool }

    /// The node's fields sit at the top level beside the version, so `.devices[].id` reads directly.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(schemaVersion, forKey: .schemaVersion)
        try container.encode(tool, forKey: .tool)
        try node.encode(to: encoder)
    }
}
