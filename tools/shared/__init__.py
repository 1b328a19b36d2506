"""Small pieces that both the catalog and packaging stand on: where the connector keeps its caches
(`cache_dir`) and the coalescing of concurrent calls for one key (`singleflight`).
"""
