"""Small pieces that several folders stand on: where the connector keeps its caches
(`cache_dir`), opening a sqlite cache file with recovery (`sqlite_file`), the coalescing of
concurrent calls for one key (`singleflight`), and the name a misspelt one meant (`suggest`).
"""
