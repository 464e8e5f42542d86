"""SG-GAN's objective as assembled (paper Sec. 3.1), against a hand computation in NumPy that
shares no code with sggan.losses: every term and weight of the generator and discriminator
losses, and spies on which group mask reaches each discriminator and which frame's boundary map
each gradient term uses."""

import numpy as np
import pytest
import torch
from torch import nn

import sggan.translators.sggan as sggan_module
from sggan.training import CycleNetworks, UnpairedBatch
from sggan.translators.sggan import Config, discriminator_objective, generator_objective, networks

LAMBDA_CYCLE, LAMBDA_GRAD = 10.0, 5.0  # the paper's lambda_c and lambda_g
ALPHA, BETA = 0.9, 0.1  # the paper's late (alpha, beta)
GROUPS = 8
TINY = {"generator_depth": 3, "ngf": 4, "ndf": 4, "load_size": [16, 32], "crop_size": [16, 32], "pool_size": 2}


def tiny_config(**changes) -> Config:
    return Config(**{**{k: tuple(v) if isinstance(v, list) else v for k, v in TINY.items()}, **changes})


class Spy(nn.Module):
    """A discriminator that records the (image, mask) pairs it judges."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net, self.calls = net, []

    def forward(self, image, mask):
        self.calls.append((image, mask))
        return self.net(image, mask)


def n(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy().astype(np.float64)


def numpy_boundaries(labels: np.ndarray) -> np.ndarray:
    """(H, W) label ids -> 0/1 where a central difference in x or y is nonzero (reflected border)."""
    p = np.pad(labels.astype(np.int64), 1, mode="reflect")
    dx = p[1:-1, 2:] - p[1:-1, :-2]
    dy = p[2:, 1:-1] - p[:-2, 1:-1]
    return ((dx != 0) | (dy != 0)).astype(np.float64)


def numpy_abs_sobel(image: np.ndarray) -> np.ndarray:
    """(3, H, W) -> (6, H, W): |Sobel x|, |Sobel y| of each colour, zero padding."""
    kx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float)
    height, width = image.shape[1:]
    out = []
    for channel in np.pad(image, ((0, 0), (1, 1), (1, 1))):
        for k in (kx, kx.T):
            response = sum(k[a, b] * channel[a : a + height, b : b + width] for a in range(3) for b in range(3))
            out.append(np.abs(response))
    return np.stack(out)


def numpy_gradient_term(x: np.ndarray, y: np.ndarray, boundary: np.ndarray) -> float:
    """Paper Eq. 4 as means: |(|C*x| - |C*y|)| over the 6 Sobel channels, weighted alpha*B + beta."""
    difference = np.abs(numpy_abs_sobel(x[0]) - numpy_abs_sobel(y[0])).mean(axis=0)
    return float(((ALPHA * boundary + BETA) * difference).mean())


def one_hot(groups: list[list[int]]) -> torch.Tensor:
    return torch.nn.functional.one_hot(torch.tensor([groups]), GROUPS).permute(0, 3, 1, 2).float()


@pytest.fixture
def batch() -> UnpairedBatch:
    """A virtual and a real frame whose boundary maps (from labels) and group masks all differ."""
    torch.manual_seed(0)
    v_labels = torch.full((1, 16, 32), 7)
    v_labels[:, :, 12:] = 26  # v: one vertical edge
    r_labels = torch.full((1, 16, 32), 23)
    r_labels[:, 5:, :] = 7
    r_labels[:, 11:, 3:9] = 24  # r: horizontal edges and a box
    v_boundary, r_boundary = (
        torch.from_numpy(numpy_boundaries(labels[0].numpy()))[None, None].float() for labels in (v_labels, r_labels)
    )
    return UnpairedBatch(
        torch.rand(1, 3, 16, 32) * 2 - 1,
        v_boundary,
        one_hot([[0, 1, 2, 3], [4, 5, 6, 7]]),
        torch.rand(1, 3, 16, 32) * 2 - 1,
        r_boundary,
        one_hot([[7, 7, 1, 1], [0, 3, 3, 5]]),
    )


@pytest.fixture
def nets() -> CycleNetworks:
    torch.manual_seed(1)
    nets = networks(tiny_config(), GROUPS)
    nets.eval()  # no dropout: the networks are plain functions here
    nets.d_r, nets.d_v = Spy(nets.d_r), Spy(nets.d_v)
    return nets


def test_generator_objective_equals_a_hand_computation(nets, batch, monkeypatch):
    boundaries_seen = []
    real_gradient_term = sggan_module.soft_gradient_loss

    def gradient_spy(x, y, boundary, alpha, beta):
        boundaries_seen.append((x, n(boundary[0, 0])))
        return real_gradient_term(x, y, boundary, alpha, beta)

    monkeypatch.setattr(sggan_module, "soft_gradient_loss", gradient_spy)
    # amp asks for bf16 autocast on CUDA only: on the CPU the terms are fp32
    losses, images = generator_objective(nets, batch, ALPHA, BETA, tiny_config(amp=True))

    v, r = batch.v, batch.r
    with torch.no_grad():
        G, F, D_R, D_V = nets.g_vr, nets.g_rv, nets.d_r.net, nets.d_v.net
        fake_r, fake_v = G(v), F(r)
        expected = {
            # G(v) is judged with v's groups, F(r) with r's
            "g_adv_r": ((n(D_R(fake_r, batch.v_mask)) - 1) ** 2).mean(),
            "g_adv_v": ((n(D_V(fake_v, batch.r_mask)) - 1) ** 2).mean(),
            "cycle_v": np.abs(n(F(fake_r)) - n(v)).mean(),
            "cycle_r": np.abs(n(G(fake_v)) - n(r)).mean(),
            # each gradient term on the boundaries of the frame that was translated
            "grad_v": numpy_gradient_term(n(v), n(fake_r), n(batch.v_boundary[0, 0])),
            "grad_r": numpy_gradient_term(n(r), n(fake_v), n(batch.r_boundary[0, 0])),
        }
    for key, value in expected.items():
        assert losses[key].item() == pytest.approx(value, rel=1e-5), key
    total = (
        expected["g_adv_r"]
        + expected["g_adv_v"]
        + LAMBDA_CYCLE * (expected["cycle_v"] + expected["cycle_r"])
        + LAMBDA_GRAD * (expected["grad_v"] + expected["grad_r"])
    )
    assert losses["g_total"].item() == pytest.approx(total, rel=1e-5)
    # the images the sample grids show, under the names they are drawn from
    assert images.keys() == {"v", "fake_r", "cycled_v", "r", "fake_v", "cycled_r"}
    assert images["v"] is v and images["r"] is r
    assert torch.equal(images["fake_r"], fake_r) and torch.equal(images["fake_v"], fake_v)
    assert torch.equal(images["cycled_v"], F(fake_r)) and torch.equal(images["cycled_r"], G(fake_v))

    # the spies: which mask reached each discriminator, which boundary map each gradient term
    [(judged_r, mask_r)], [(judged_v, mask_v)] = nets.d_r.calls, nets.d_v.calls
    assert torch.equal(judged_r, fake_r) and mask_r is batch.v_mask
    assert torch.equal(judged_v, fake_v) and mask_v is batch.r_mask
    assert [x is v for x, _ in boundaries_seen] == [True, False]
    assert np.array_equal(boundaries_seen[0][1], n(batch.v_boundary[0, 0]))
    assert np.array_equal(boundaries_seen[1][1], n(batch.r_boundary[0, 0]))
    assert not np.array_equal(n(batch.v_boundary), n(batch.r_boundary))

    # the ablation drops the gradient term from the total and keeps it in the log
    ablation, _ = generator_objective(nets, batch, ALPHA, BETA, tiny_config(use_gradient_loss=False))
    assert ablation["g_total"].item() == pytest.approx(
        total - LAMBDA_GRAD * (expected["grad_v"] + expected["grad_r"]), rel=1e-5
    )
    assert ablation["grad_v"].item() == pytest.approx(expected["grad_v"], rel=1e-5)


def test_discriminator_objective_equals_a_hand_computation(nets, batch):
    fake_r, fake_v = torch.rand(1, 3, 16, 32) * 2 - 1, torch.rand(1, 3, 16, 32) * 2 - 1
    fake_r_mask, fake_v_mask = one_hot([[2, 2, 2, 2], [6, 6, 6, 6]]), one_hot([[5, 4, 3, 2], [1, 0, 1, 0]])
    losses = discriminator_objective(nets, batch, fake_r, fake_r_mask, fake_v, fake_v_mask, tiny_config(amp=True))
    with torch.no_grad():
        D_R, D_V = nets.d_r.net, nets.d_v.net
        d_r = (((n(D_R(batch.r, batch.r_mask)) - 1) ** 2).mean() + (n(D_R(fake_r, fake_r_mask)) ** 2).mean()) / 2
        d_v = (((n(D_V(batch.v, batch.v_mask)) - 1) ** 2).mean() + (n(D_V(fake_v, fake_v_mask)) ** 2).mean()) / 2
    assert losses["d_r"].item() == pytest.approx(d_r, rel=1e-5)
    assert losses["d_v"].item() == pytest.approx(d_v, rel=1e-5)
    # real frames with their own groups, the fakes with the groups they came with
    [(_, real_r_mask), (_, judged_r_mask)], [(_, real_v_mask), (_, judged_v_mask)] = nets.d_r.calls, nets.d_v.calls
    assert real_r_mask is batch.r_mask and judged_r_mask is fake_r_mask
    assert real_v_mask is batch.v_mask and judged_v_mask is fake_v_mask


def test_the_d_step_judges_each_translated_frame_with_its_source_frames_groups(batch, built_translator):
    translator = built_translator("sggan", TINY)
    translator.before_epoch(5)
    nets = translator.nets
    losses, images = translator.generator_step(batch)
    nets.d_r, nets.d_v = Spy(nets.d_r), Spy(nets.d_v)
    translator.discriminator_step(batch, images)
    # the pools are filling, so they return this step's fakes, with the masks stored beside them
    (real_r, real_r_mask), (pooled_r, pooled_r_mask) = nets.d_r.calls
    (real_v, real_v_mask), (pooled_v, pooled_v_mask) = nets.d_v.calls
    assert real_r is batch.r and torch.equal(real_r_mask, batch.r_mask)
    assert torch.equal(pooled_r, images["fake_r"]) and torch.equal(pooled_r_mask, batch.v_mask)
    assert real_v is batch.v and torch.equal(real_v_mask, batch.v_mask)
    assert torch.equal(pooled_v, images["fake_v"]) and torch.equal(pooled_v_mask, batch.r_mask)
    assert (translator.alpha, translator.beta) == (ALPHA, BETA)


def test_the_d_step_descends_the_sum_of_both_discriminators_terms(batch, built_translator, monkeypatch):
    translator = built_translator("sggan", TINY)
    _, images = translator.generator_step(batch)
    stepped = []
    monkeypatch.setattr(sggan_module, "update", lambda optimizer, loss: stepped.append((optimizer, loss)))
    losses = translator.discriminator_step(batch, images)
    [(optimizer, loss)] = stepped
    assert optimizer is translator.opt_d
    assert loss.item() == pytest.approx(losses["d_r"].item() + losses["d_v"].item(), rel=1e-6)
    assert losses["d_v"].item() > 0  # a sign flip of either term would show


def test_alpha_beta_switch_at_the_configured_epoch_and_are_logged(built_translator):
    translator = built_translator("sggan", {**TINY, "alpha_beta_switch_epoch": 3})
    assert (translator.alpha, translator.beta) == (1.0, 0.0)  # the paper's early (alpha, beta)
    for epoch, expected in ((0, (1.0, 0.0)), (2, (1.0, 0.0)), (3, (ALPHA, BETA)), (7, (ALPHA, BETA))):
        assert translator.before_epoch(epoch) == {"alpha": expected[0], "beta": expected[1]}, epoch
        assert (translator.alpha, translator.beta) == expected
