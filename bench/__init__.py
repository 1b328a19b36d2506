"""`python -m bench`: the connector's speed and memory figures.

Every figure is a ratio of two things measured in the same run (our code against the standard
library, a second run against the first, peak memory against file size), so the numbers mean the
same on a laptop and on a loaded CI runner. Nothing here passes or fails: the table shows each
ratio beside the value a healthy build gives.
"""
