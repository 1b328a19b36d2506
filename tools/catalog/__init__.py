"""What models are installed and their metadata: `ModelCatalog` (`model_catalog`) answers from
Ollama through the shared metadata cache (`cache`, an in-memory front over the sqlite store in
`cache_db`), and falls back on reading Ollama's model folder directly (`store`, with the GGUF values
of `store_gguf`) when an Ollama on this machine is down. `library` reads the models Ollama
recommends against the installed ones.
"""
