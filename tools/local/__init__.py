"""Local files an assistant names: the gate every path passes before it is opened (`path_gate`:
allowed roots, regular files only), the header readers that check a file without loading tensors
(`gguf_reader`, `safetensors_reader`), and the LoRA adapter checks built on them (`adapters`;
`adapter_config` reads its adapter_config.json, `adapter_files` names its files, `adapter_base`
checks it against the base model).
"""
