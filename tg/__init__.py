"""tg — the operations toolkit of Trading Graph (analysis only: no trading execution exists)."""

__version__ = "0.1.0"
