"""Operations: atomic files, audit log, logging setup (later: snapshots, metrics, recovery)."""
