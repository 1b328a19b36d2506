"""The name a misspelt one most likely meant, for error messages that say what to do."""

from __future__ import annotations

from collections.abc import Iterable


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """` (did you mean 'temperature'?)` for `temprature`, or "" when nothing is close."""
    import difflib  # here: only a refused name needs it, and it is slow to import

    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
