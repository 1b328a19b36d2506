"""The MCP face of the connector: registers `tools/` operations as MCP tools and resources."""
