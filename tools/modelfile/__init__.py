"""Modelfiles, as `ollama create` reads them: the grammar character for character (`syntax`), the
document as data with render and generate (`document`), typed `PARAMETER` values (`parameters`, with
Go's quoted literals in `go_literals`), and the create plan that turns a Modelfile and the files it
names into Ollama's JSON create request (`create_plan`, choosing a folder's files by `folder_rules`
and Go's content sniffing in `content_sniff`). Pure and synchronous: nothing here talks to Ollama.
"""
