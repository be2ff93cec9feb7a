"""Market data: symbols, sources (one module each), failover, caches, bar store, validation."""
