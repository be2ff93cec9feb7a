"""What every ensemble member provides: fit on train (early stopping on valid), predict, save, load."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from tg.models.dataset import Samples

# progress(member, step, total): called during training so the CLI can draw a progress bar
Progress = Callable[[str, int, int], None]


@dataclass
class MemberOutput:
    probs: np.ndarray  # (S, 3) P(down), P(flat), P(up)
    score: np.ndarray  # (S,) ranking score: higher = larger expected forward return


class Member(Protocol):
    """A class under `tg.` named by a `model/members/<name>.yaml` node's `_target_`, built with the node's keys
    as arguments (tg.config.parts); `files` are the files its `save` writes (recorded in the manifest)."""

    name: str
    files: tuple[str, ...]

    def fit(self, train: Samples, valid: Samples, progress: Progress) -> dict[str, Any]: ...

    def predict(self, samples: Samples) -> MemberOutput: ...

    def save(self, directory: Path) -> dict[str, str]:
        """Write the member's files into `directory`; return {file name: manifest kind}."""
        ...


def quiet_openmp() -> None:
    """Make OpenMP threads sleep, not spin, while they wait (unless the user chose otherwise).

    LightGBM and torch use OpenMP; its default spin-waiting made a 10-second training run take
    90 seconds whenever another process held the second core. Read once, when the OpenMP runtime
    loads, so this runs before the member's library is imported.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
