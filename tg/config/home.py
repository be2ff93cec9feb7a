"""Where a project's state lives: the directory every relative `paths.*` is resolved against.

`TG_HOME` when set; else the nearest directory, from the working directory up, that holds tg state
(`.env`, `models_saved/` or `audit/`), the way git finds its repository; else the working directory
(a new project). So `tg predict` from a subdirectory finds the model instead of saying "run `tg train`".
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from tg.errors import ConfigError

MARKERS = (".env", "models_saved", "audit")


def project_home(cwd: Path, env: Mapping[str, str]) -> Path:
    """The project directory for a command started in `cwd` (see the module docstring)."""
    home = env.get("TG_HOME", "")
    if home:
        path = Path(home).expanduser()
        if not path.is_dir():
            raise ConfigError(f"TG_HOME={home}: not a directory")
        return path.resolve()
    start = cwd.resolve()
    for directory in (start, *start.parents):
        if any(os.path.lexists(directory / marker) for marker in MARKERS):
            return directory
    return start
