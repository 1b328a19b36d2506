"""Small pieces that both the catalog and packaging stand on: where the connector keeps its caches
(`cache_dir`), opening a sqlite cache file with recovery (`sqlite_file`), and the coalescing of
concurrent calls for one key (`singleflight`).
"""
