"""The numpy GRU that `tg predict` runs (no torch at inference) computes what the torch module trained."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tg.models.members.gru import _forward, _Net


@pytest.mark.parametrize(("features", "hidden", "length"), [(57, 32, 20), (5, 4, 2)])
def test_numpy_inference_matches_the_torch_module(features: int, hidden: int, length: int) -> None:
    torch.manual_seed(3)
    net = _Net(features, hidden)
    for p in net.parameters():  # weights larger than the default init, so every gate saturates somewhere
        torch.nn.init.uniform_(p, -0.6, 0.6)
    x = np.random.default_rng(0).normal(size=(256, length, features)).astype(np.float32)
    with torch.no_grad():
        logits, score = net(torch.from_numpy(x))
    weights = {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
    np_logits, np_score = _forward(weights, x)
    assert np_logits.dtype == np.float32 and np_score.shape == (256,)
    assert np.max(np.abs(np_logits - logits.numpy())) < 1e-5
    assert np.max(np.abs(np_score - score.numpy())) < 1e-5
    wrong = dict(weights, **{"gru.bias_hh_l0": weights["gru.bias_hh_l0"] + 0.01})
    assert np.max(np.abs(_forward(wrong, x)[0] - logits.numpy())) > 1e-4  # the comparison can fail
