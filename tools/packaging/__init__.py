"""Local files turned into Ollama models: hashing and the digest cache, blob uploads that send only
what Ollama lacks (`blobs`), and `create_model` / `package_adapter` with their progress reports
(`create`), which upload, create and optionally push through one `OllamaClient`.
"""
