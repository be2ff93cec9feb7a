"""The few exception types tg raises on purpose; only `tg.cli` maps them to exit codes.

Exit codes (DESIGN §4): 0 ok, 1 a check/gate/operation failed, 2 usage or configuration error,
130 interrupted.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class TgError(Exception):
    """Base of every expected failure: the message is one clear line for the operator."""

    exit_code = EXIT_FAILED


class ConfigError(TgError):
    """The configuration (files, .env, environment or overrides) is invalid.

    `from_command_line` is true when the command's own overrides are at fault (the installed
    config composes without them): health and doctor then exit 2 instead of reporting a verdict.
    """

    exit_code = EXIT_USAGE

    def __init__(self, message: str, from_command_line: bool = False) -> None:
        super().__init__(message)
        self.from_command_line = from_command_line


class UsageError(TgError):
    """The command line itself is wrong (bad argument, unknown symbol spelling)."""

    exit_code = EXIT_USAGE


class GateFailed(TgError):
    """A check or gate ran and its verdict is failure."""


class DataError(TgError):
    """Market data could not be obtained or failed validation."""


class UnknownSymbol(DataError):
    """The data holds nothing for this symbol (not listed in it, or never traded there)."""

    def __init__(self, symbol: str, message: str) -> None:
        super().__init__(message)
        self.symbol = symbol


class NoBars(DataError):
    """Every source that answered had no bars for the request (none failed): nothing new, not an outage."""


class SourceError(DataError):
    """One source failed (network, HTTP status, malformed or truncated payload): failover may try the next."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.reason = message


class OutOfTime(SourceError):
    """The data request's deadline (`network.deadline_s`) passed before this source could be asked."""


class NoData(SourceError):
    """The source answered, but has no data for this symbol/range (unknown, delisted, empty)."""


class ArtifactError(TgError):
    """A model artifact or archive is missing, partial or tampered with."""


class NoModel(ArtifactError):
    """No current model: never trained, or `CURRENT` lost beside saved versions (not damage)."""


class AuditError(TgError):
    """The audit log cannot be written or its hash chain is broken."""
