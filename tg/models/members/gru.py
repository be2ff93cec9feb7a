"""`gru`: a small GRU over the last `length` days of standardised features, with two heads (3-class
logits and the ranked forward return). Trained with torch; weights saved as safetensors.

Inference runs the same GRU equations in numpy (`safetensors.numpy` reads the weights), so
`tg predict` and `tg evaluate` never import torch (2+ s of start-up) and never unpickle anything.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from tg.models.calibration import softmax
from tg.models.dataset import Samples, Standardizer
from tg.models.members.base import MemberOutput, Progress

WEIGHTS, SCALER = "gru.safetensors", "gru_scaler.json"


class GruMember:
    """Built from `conf/model/members/gru.yaml` (`model.members.gru.*`)."""

    name = "gru"
    files = (WEIGHTS, SCALER)

    def __init__(
        self,
        seed: int = 0,
        epochs: int = 8,
        hidden: int = 32,
        length: int = 20,
        batch: int = 512,
        rows_per_epoch: int = 200_000,
        lr: float = 2e-3,
        patience: int = 2,
        threads: int = 2,
    ) -> None:
        if hidden < 4 or length < 2 or epochs < 1:
            raise ValueError("hidden >= 4, length >= 2 and epochs >= 1")
        self.seed, self.epochs, self.hidden, self.length = seed, epochs, hidden, length
        self.batch, self.rows_per_epoch, self.lr, self.patience, self.threads = (
            batch,
            rows_per_epoch,
            lr,
            patience,
            threads,
        )
        self.scaler: Standardizer | None = None
        self.weights: dict[str, np.ndarray] = {}

    def fit(self, train: Samples, valid: Samples, progress: Progress) -> dict[str, Any]:
        import torch
        from torch import nn

        torch.manual_seed(self.seed)
        torch.set_num_threads(self.threads)
        torch.use_deterministic_algorithms(True)
        rng = np.random.default_rng(self.seed)
        self.scaler = Standardizer.fit(train.tabular(rng.choice(len(train), min(len(train), 200_000), replace=False)))
        features = train.values.shape[2]
        model = _Net(features, self.hidden)
        optimiser = torch.optim.Adam(model.parameters(), lr=self.lr, weight_decay=1e-5)
        ce, mse = nn.CrossEntropyLoss(), nn.MSELoss()
        valid_rows = rng.choice(len(valid), min(len(valid), 50_000), replace=False)
        x_valid = torch.from_numpy(self._windows(valid, valid_rows))
        y_valid = torch.from_numpy(valid.label[valid_rows])
        t_valid = torch.from_numpy(valid.target[valid_rows])
        best, best_state, stale, epochs_run = float("inf"), None, 0, 0
        steps = max(1, min(len(train), self.rows_per_epoch) // self.batch)
        for epoch in range(self.epochs):
            model.train()
            rows = rng.choice(len(train), min(len(train), self.rows_per_epoch), replace=False)
            for step in range(steps):
                batch = rows[step * self.batch : (step + 1) * self.batch]
                x = torch.from_numpy(self._windows(train, batch))
                logits, score = model(x)
                loss = ce(logits, torch.from_numpy(train.label[batch])) + mse(
                    score, torch.from_numpy(train.target[batch])
                )
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                if step % 20 == 0:
                    progress(self.name, epoch * steps + step, self.epochs * steps)
            model.eval()
            with torch.no_grad():
                logits, score = model(x_valid)
                valid_loss = float(ce(logits, y_valid) + mse(score, t_valid))
            epochs_run = epoch + 1
            if valid_loss < best - 1e-5:
                best, stale = valid_loss, 0
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                stale += 1
                if stale >= self.patience:
                    break
        assert best_state is not None
        self.weights = {k: v.numpy().astype(np.float32) for k, v in best_state.items()}
        progress(self.name, self.epochs * steps, self.epochs * steps)
        return {
            "epochs_run": epochs_run,
            "valid_loss": best,
            "parameters": int(sum(v.size for v in self.weights.values())),
        }

    def _windows(self, samples: Samples, rows: np.ndarray) -> np.ndarray:
        assert self.scaler is not None
        return self.scaler.apply(samples.sequences(self.length, rows))

    def predict(self, samples: Samples) -> MemberOutput:
        probs, scores = [], []
        for start in range(0, len(samples), 8192):
            rows = np.arange(start, min(start + 8192, len(samples)))
            logits, score = _forward(self.weights, self._windows(samples, rows))
            probs.append(softmax(logits))
            scores.append(score)
        if not probs:
            return MemberOutput(np.zeros((0, 3)), np.zeros(0))
        return MemberOutput(np.concatenate(probs), np.concatenate(scores))

    def save(self, directory: Path) -> dict[str, str]:
        from safetensors.numpy import save

        assert self.scaler is not None
        # serialised in memory and written by Python, so a full disk is an OSError like every other file's
        (directory / WEIGHTS).write_bytes(save(self.weights))
        doc = {"scaler": self.scaler.to_dict(), "hidden": self.hidden, "length": self.length}
        (directory / SCALER).write_text(json.dumps(doc), encoding="utf-8")
        return {WEIGHTS: "ensemble", SCALER: "scaler"}

    @classmethod
    def load(cls, directory: Path, info: dict[str, Any]) -> GruMember:
        from safetensors.numpy import load_file

        doc = json.loads((directory / SCALER).read_text(encoding="utf-8"))
        member = cls(hidden=int(doc["hidden"]), length=int(doc["length"]))
        member.scaler = Standardizer.from_dict(doc["scaler"])
        member.weights = load_file(str(directory / WEIGHTS))
        return member


def _Net(features: int, hidden: int) -> Any:  # noqa: N802 - builds a torch module lazily
    from torch import nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.gru = nn.GRU(features, hidden, batch_first=True)
            self.classes = nn.Linear(hidden, 3)
            self.score = nn.Linear(hidden, 1)

        def forward(self, x: Any) -> tuple[Any, Any]:
            _, h = self.gru(x)
            last = h[-1]
            return self.classes(last), self.score(last).squeeze(-1)

    return Net()


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _forward(w: dict[str, np.ndarray], x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """torch.nn.GRU (one layer, batch_first) followed by the two heads, in numpy float32."""
    w_ih, w_hh, b_ih, b_hh = w["gru.weight_ih_l0"], w["gru.weight_hh_l0"], w["gru.bias_ih_l0"], w["gru.bias_hh_l0"]
    hidden = w_hh.shape[1]
    h = np.zeros((x.shape[0], hidden), dtype=np.float32)
    gates_x = x @ w_ih.T + b_ih  # (S, L, 3H): input parts of reset, update, new gates
    for step in range(x.shape[1]):
        gx = gates_x[:, step]
        gh = h @ w_hh.T + b_hh
        r = _sigmoid(gx[:, :hidden] + gh[:, :hidden])
        z = _sigmoid(gx[:, hidden : 2 * hidden] + gh[:, hidden : 2 * hidden])
        n = np.tanh(gx[:, 2 * hidden :] + r * gh[:, 2 * hidden :])
        h = (1 - z) * n + z * h
    logits = h @ w["classes.weight"].T + w["classes.bias"]
    score = h @ w["score.weight"].T + w["score.bias"]
    return logits, score[:, 0]
