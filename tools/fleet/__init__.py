"""Several Ollama hosts behind one server: which hosts there are (`config`), whether each
answers (`health`), where a call goes (`fleet`), and one model list over all of them (`merge`).

Each host is one `OllamaClient` and one `ModelCatalog`; nothing here reaches inside either.
Hosts come from configuration only: a tool names a configured host, never an address.
"""

from tools.fleet.config import HOSTS_ENV, HostSpec, host_specs, parse_host_spec
from tools.fleet.fleet import Fleet, FleetHost, HostView
from tools.fleet.merge import MergedModel, merge_lists

__all__ = [
    "HOSTS_ENV",
    "Fleet",
    "FleetHost",
    "HostSpec",
    "HostView",
    "MergedModel",
    "host_specs",
    "merge_lists",
    "parse_host_spec",
]
