"""Local files turned into Ollama models. `create_model` (`create`) takes a Modelfile and the files
it names; `package_adapter` (`adapter`) takes a LoRA adapter and a base model. Both check
everything locally first, then run the same steps (`pipeline`): hash through the digest cache and
upload only what Ollama lacks (`blobs`), stream the create, read the new digest back; and both
report progress and results as the models of `reports`.
"""
