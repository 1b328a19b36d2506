"""MCP tasks: one record per long call (`records`), run in the server's lifespan (`manager`), seen
through the 2025-11-25 wire and the 2026-07-28 tasks extension (`protocol`), owned by the session or
bearer token that made it (`owner`), its progress sent on the connection's channel (`channel`)."""
