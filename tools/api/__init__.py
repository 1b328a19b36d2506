"""Ollama's HTTP API, and only that: Ollama's wire format lives in this folder alone.

`client` is the one `OllamaClient`, a short method per endpoint; `bodies` holds the request bodies
as pydantic models (dumped with `exclude_none`); `transport` sends them (one shared HTTP client,
bounded retries, timeouts, NDJSON framing); `answers` reads the replies and turns Ollama's errors
into the classes of `tools.errors`; `types` holds the models of Ollama's answers and the progress
callbacks; `options` checks the `options` of generate, chat and embed before they are sent;
`cloud` holds the routes where Ollama speaks for ollama.com (cloud status, model
recommendations, web search and fetch). `host` says where Ollama runs (`OLLAMA_HOST` and its
forms) and `names` is Ollama's model-name grammar. Everything outside this folder gets pydantic
models and typed errors.
"""
