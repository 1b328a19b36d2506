"""State that replicas share through Redis: the connection and its faults (`link`), the metadata
cache's store (`cache_store`), across replicas locks (`lock`) and pub/sub (`channels`). Plain async
Python; the MCP side (the subscription bus, the event store, records) lives in `server/replicas/`.

Redis is optional (`pip install 'ollama-connector-mcp[redis]'`): nothing here imports it until
a link is opened.
"""
