"""DualGAN (Yi et al., ICCV 2017): dual translators trained as Wasserstein GANs.

The primal generator G_A: V->R and the dual G_B: R->V are the U-Net SG-GAN uses (its dropout
is DualGAN's noise z); the critics D_R and D_V are the 70x70 PatchGAN shared with CycleGAN and
SG-GAN, with no sigmoid: their mean output estimates a Wasserstein distance. Following the
paper's Algorithm 1 (WGAN's procedure), each iteration takes a virtual batch v and a real batch r:

  critic step  loss_c = [mean D_R(G_A(v)) - mean D_R(r)] + [mean D_V(G_B(r)) - mean D_V(v)],
               one RMSProp step, then every critic weight is clipped to [-c, c]
  G step       (every n_critic-th iteration, so the critics take n_critic steps per G step)
               loss_g = -mean D_R(G_A(v)) - mean D_V(G_B(r))
                        + lambda_v * |G_B(G_A(v)) - v| + lambda_r * |G_A(G_B(r)) - r|

RMSProp, as the paper prescribes (momentum methods such as Adam occasionally destabilised it),
at WGAN's learning rate 5e-5. The paper sets the reconstruction weights within [100, 1000]
depending on the task (500, the middle, by default), n_critic to 2-4 and c within [0.01, 0.1];
the defaults take the low ends, n_critic = 2 and c = 0.01 (WGAN's own). No history pool: neither
paper uses one. Clipping covers every critic parameter, the norms' scales included, as WGAN does.
"""
from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import torch
from torch import nn

from sggan.data.io import Frame
from sggan.losses import cycle_loss, wasserstein_critic_loss, wasserstein_generator_loss
from sggan.models import PatchDiscriminator, UNetGenerator
from sggan.training import (GANParts, TrainingConfig, autocast_for, cycle_sample_rows, load_unet_generator,
                            set_requires_grad, train_gan)
from sggan.translators import register
from sggan.translators.base import Translator

LOSS_FIELDS = ["d_r", "d_v", "g_adv_r", "g_adv_v", "recon_v", "recon_r", "g_total"]


@dataclasses.dataclass
class Config(TrainingConfig):
    epochs: int = 45                         # the DualGAN code's README trains 45 epochs
    lambda_v: float = 500.0                  # reconstruction of virtual frames, |G_B(G_A(v)) - v|
    lambda_r: float = 500.0                  # reconstruction of real frames, |G_A(G_B(r)) - r|
    clip: float = 0.01                       # critic weights are kept in [-clip, clip]
    n_critic: int = 2                        # critic steps per generator step
    lr: float = 5e-5                         # RMSProp, both critics and generators
    ngf: int = 64
    ndf: int = 64
    generator_depth: int = 8

    def crop_multiple(self) -> int:
        return 2 ** self.generator_depth

    def __post_init__(self):
        super().__post_init__()
        if self.n_critic < 1 or self.clip <= 0:
            raise ValueError("dualgan: n_critic must be at least 1 and clip positive")


class DualGANModels(nn.Module):
    def __init__(self, config: Config):
        super().__init__()
        self.g_vr = UNetGenerator(config.ngf, config.generator_depth)   # G_A: virtual -> real (primal)
        self.g_rv = UNetGenerator(config.ngf, config.generator_depth)   # G_B: real -> virtual (dual)
        self.d_r = PatchDiscriminator(config.ndf, 1, semantic=False)    # critic of real frames
        self.d_v = PatchDiscriminator(config.ndf, 1, semantic=False)    # critic of virtual frames

    def generators(self) -> list[nn.Module]:
        return [self.g_vr, self.g_rv]

    def critics(self) -> list[nn.Module]:
        return [self.d_r, self.d_v]


def build_optimizers(m: DualGANModels, config: Config) -> tuple[torch.optim.RMSprop, torch.optim.RMSprop]:
    def rmsprop(nets):
        return torch.optim.RMSprop(itertools.chain(*(net.parameters() for net in nets)), lr=config.lr)
    return rmsprop(m.generators()), rmsprop(m.critics())


@torch.no_grad()
def clip_critics(m: DualGANModels, clip: float) -> None:
    """WGAN's Lipschitz constraint: every critic parameter into [-clip, clip]."""
    for p in itertools.chain(m.d_r.parameters(), m.d_v.parameters()):
        p.clamp_(-clip, clip)


def critic_losses(m: DualGANModels, v, r, fake_r, fake_v) -> dict:
    return {"d_r": wasserstein_critic_loss(m.d_r(r), m.d_r(fake_r)),
            "d_v": wasserstein_critic_loss(m.d_v(v), m.d_v(fake_v))}


def generator_losses(m: DualGANModels, v, r, config: Config) -> tuple[dict, dict]:
    """The generator objective's terms and total on one batch, and the images they came from."""
    fake_r, fake_v = m.g_vr(v), m.g_rv(r)
    recon_v, recon_r = m.g_rv(fake_r), m.g_vr(fake_v)
    losses = {
        "g_adv_r": wasserstein_generator_loss(m.d_r(fake_r)),
        "g_adv_v": wasserstein_generator_loss(m.d_v(fake_v)),
        "recon_v": cycle_loss(v, recon_v),
        "recon_r": cycle_loss(r, recon_r),
    }
    losses["g_total"] = (losses["g_adv_r"] + losses["g_adv_v"]
                         + config.lambda_v * losses["recon_v"] + config.lambda_r * losses["recon_r"])
    images = {"v": v, "fake_r": fake_r, "cycled_v": recon_v, "r": r, "fake_v": fake_v, "cycled_r": recon_r}
    return losses, images


def critic_step(m: DualGANModels, opt_d: torch.optim.Optimizer, v, r, config: Config, autocast) -> tuple[dict, dict]:
    with torch.no_grad(), autocast:  # the critics judge the generators' current output
        fake_r, fake_v = m.g_vr(v), m.g_rv(r)
    with autocast:
        losses = critic_losses(m, v, r, fake_r, fake_v)
    opt_d.zero_grad(set_to_none=True)
    (losses["d_r"] + losses["d_v"]).backward()
    opt_d.step()
    clip_critics(m, config.clip)
    return losses, {"v": v, "fake_r": fake_r, "r": r, "fake_v": fake_v}


def generator_step(m: DualGANModels, opt_g: torch.optim.Optimizer, v, r, config: Config,
                   autocast) -> tuple[dict, dict]:
    set_requires_grad(m.critics(), False)
    with autocast:
        losses, images = generator_losses(m, v, r, config)
    opt_g.zero_grad(set_to_none=True)
    losses["g_total"].backward()
    opt_g.step()
    set_requires_grad(m.critics(), True)
    return losses, {k: t.detach() for k, t in images.items()}


def train_iteration(m: DualGANModels, opt_g, opt_d, v, r, step: int, config: Config, autocast) -> tuple[dict, dict]:
    """One DualGAN iteration: a critic step, then a G step on every n_critic-th iteration."""
    losses, images = critic_step(m, opt_d, v, r, config, autocast)
    if (step + 1) % config.n_critic == 0:
        g_losses, images = generator_step(m, opt_g, v, r, config, autocast)
        losses.update(g_losses)
    return losses, images


@register("dualgan")
class DualGAN(Translator):
    Config = Config

    def size_multiple(self) -> int:
        return 2 ** self.config.generator_depth

    def generator(self, run_dir: Path | None, device: torch.device) -> nn.Module:
        return load_unet_generator(run_dir, self.name, self.config.generator_depth, device)

    def train(self, source: list[Frame], target: list[Frame], run_dir: Path, device: torch.device,
              seed: int) -> None:
        cfg = self.config

        def build() -> GANParts:
            models = DualGANModels(cfg).to(device)
            clip_critics(models, cfg.clip)  # the critics start inside the constraint set
            opt_g, opt_d = build_optimizers(models, cfg)
            autocast = autocast_for(cfg, device)
            return GANParts(
                state={"models": models, "opt_g": opt_g, "opt_d": opt_d},
                iteration=lambda b, step: train_iteration(models, opt_g, opt_d, b.v, b.r, step, cfg, autocast),
                sample_rows=cycle_sample_rows,
                generator=models.g_vr.state_dict,
            )

        train_gan(self.name, cfg, source, target, run_dir, device, seed, build, LOSS_FIELDS)
