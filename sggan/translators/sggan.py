"""SG-GAN (Li et al., BMVC 2018): semantic-aware grad-GAN for virtual-to-real adaptation.

Two U-Net generators, G: V->R and F: R->V, and two (semantic-aware) PatchGAN discriminators,
SD_R and SD_V. Each iteration takes one batch of virtual frames v and one of real frames r:

  G step   adv   = LSGAN(SD_R(G(v); groups of v)) + LSGAN(SD_V(F(r); groups of r))
           cycle = |F(G(v)) - v| + |G(F(r)) - r|
           grad  = soft gradient term of (v, G(v)) on v's boundaries + of (r, F(r)) on r's
           loss  = adv + lambda_cycle * cycle + lambda_grad * grad
  D step   for each D: (LSGAN real + LSGAN fake) / 2, the fakes drawn from a history pool that
           keeps each translated image with the group mask of the image it was translated from.

Epochs are min(|V|, |R|) iterations with both lists reshuffled; (alpha, beta) is (1, 0) for the
first three epochs, then (0.9, 0.1); Adam 2e-4, beta1 0.5, no decay. Facts from the original
TensorFlow code that the paper leaves open are marked "original" in comments.

Variants by config only: ``use_gradient_loss: false`` (no L_grad) and
``semantic_discriminator: false`` (standard PatchGAN).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
from torch import nn

from sggan.data.io import Frame
from sggan.data.labels import group_lut
from sggan.losses import (boundary_mask, cycle_loss, lsgan_discriminator_loss, lsgan_generator_loss,
                          soft_gradient_loss)
from sggan.models import PatchDiscriminator, UNetGenerator
from sggan.training import (GANParts, HistoryPool, TrainingConfig, UnpairedBatch, adam, autocast_for,
                            cycle_sample_rows, load_unet_generator, set_requires_grad, train_gan)
from sggan.translators import register
from sggan.translators.base import Translator

LOSS_FIELDS = ["alpha", "beta", "g_adv_r", "g_adv_v", "cycle_v", "cycle_r", "grad_v", "grad_r", "g_total",
               "d_r", "d_v"]


@dataclasses.dataclass
class Config(TrainingConfig):
    """SG-GAN's settings on top of the shared loop's (epochs 25, batch 1, 256x512, flips, ...).

    The original resizes every frame straight to 256x512 with no crop: load_size == crop_size.
    """
    lambda_cycle: float = 10.0
    lambda_grad: float = 5.0
    alpha_beta_switch_epoch: int = 3         # (alpha, beta) = early before this epoch, late from it
    alpha_beta_early: tuple[float, float] = (1.0, 0.0)
    alpha_beta_late: tuple[float, float] = (0.9, 0.1)
    lr: float = 2e-4
    beta1: float = 0.5
    pool_size: int = 50
    ngf: int = 64
    ndf: int = 64
    generator_depth: int = 8
    semantic_discriminator: bool = True
    use_gradient_loss: bool = True
    grouping: str = "sggan"                  # 'sggan' (8 groups of the original) or 'cityscapes'

    def crop_multiple(self) -> int:
        return 2 ** self.generator_depth

    def __post_init__(self):
        super().__post_init__()
        for name in ("alpha_beta_early", "alpha_beta_late"):
            alpha, beta = getattr(self, name)
            if alpha < 0 or beta < 0:
                raise ValueError(f"sggan: {name} must be non-negative, got {[alpha, beta]}")

    def alpha_beta(self, epoch: int) -> tuple[float, float]:
        return self.alpha_beta_early if epoch < self.alpha_beta_switch_epoch else self.alpha_beta_late


class SGGANModels(nn.Module):
    """The four networks, so that one state dict holds them all."""

    def __init__(self, config: Config, num_groups: int):
        super().__init__()
        self.g_vr = UNetGenerator(config.ngf, config.generator_depth)   # G: virtual -> real
        self.g_rv = UNetGenerator(config.ngf, config.generator_depth)   # F: real -> virtual
        self.d_r = PatchDiscriminator(config.ndf, num_groups, config.semantic_discriminator)  # SD_R
        self.d_v = PatchDiscriminator(config.ndf, num_groups, config.semantic_discriminator)  # SD_V

    def generators(self) -> list[nn.Module]:
        return [self.g_vr, self.g_rv]

    def discriminators(self) -> list[nn.Module]:
        return [self.d_r, self.d_v]


def build_optimizers(m: SGGANModels, config: Config) -> tuple[torch.optim.Adam, torch.optim.Adam]:
    """One Adam for both generators, one for both discriminators (as the original); no decay."""
    return adam(m.generators(), config.lr, config.beta1), adam(m.discriminators(), config.lr, config.beta1)


def generator_step(m: SGGANModels, opt_g: torch.optim.Optimizer, v, v_labels, v_mask, r, r_labels, r_mask,
                   alpha: float, beta: float, config: Config, autocast) -> tuple[dict, dict]:
    set_requires_grad(m.discriminators(), False)  # no weight gradients for D in the G step
    with autocast:
        fake_r = m.g_vr(v)
        cycled_v = m.g_rv(fake_r)
        fake_v = m.g_rv(r)
        cycled_r = m.g_vr(fake_v)
        # a translated image is judged with the groups of the image it was translated from
        d_fake_r = m.d_r(fake_r, v_mask)
        d_fake_v = m.d_v(fake_v, r_mask)
    losses = {
        "g_adv_r": lsgan_generator_loss(d_fake_r),
        "g_adv_v": lsgan_generator_loss(d_fake_v),
        "cycle_v": cycle_loss(v, cycled_v),
        "cycle_r": cycle_loss(r, cycled_r),
        # measured for the log even when the ablation leaves it out of the objective
        "grad_v": soft_gradient_loss(v, fake_r, boundary_mask(v_labels), alpha, beta),
        "grad_r": soft_gradient_loss(r, fake_v, boundary_mask(r_labels), alpha, beta),
    }
    total = (losses["g_adv_r"] + losses["g_adv_v"]
             + config.lambda_cycle * (losses["cycle_v"] + losses["cycle_r"]))
    if config.use_gradient_loss:
        total = total + config.lambda_grad * (losses["grad_v"] + losses["grad_r"])
    losses["g_total"] = total
    opt_g.zero_grad(set_to_none=True)
    total.backward()
    opt_g.step()
    set_requires_grad(m.discriminators(), True)
    images = {"v": v, "fake_r": fake_r, "cycled_v": cycled_v, "r": r, "fake_v": fake_v, "cycled_r": cycled_r}
    return losses, {k: t.detach() for k, t in images.items()}


def discriminator_step(m: SGGANModels, opt_d: torch.optim.Optimizer, v, v_mask, r, r_mask,
                       pooled_fake_r, pooled_fake_r_mask, pooled_fake_v, pooled_fake_v_mask,
                       autocast) -> dict:
    with autocast:
        d_real_r, d_fake_r = m.d_r(r, r_mask), m.d_r(pooled_fake_r, pooled_fake_r_mask)
        d_real_v, d_fake_v = m.d_v(v, v_mask), m.d_v(pooled_fake_v, pooled_fake_v_mask)
    losses = {"d_r": lsgan_discriminator_loss(d_real_r, d_fake_r),
              "d_v": lsgan_discriminator_loss(d_real_v, d_fake_v)}
    opt_d.zero_grad(set_to_none=True)
    (losses["d_r"] + losses["d_v"]).backward()
    opt_d.step()
    return losses


def train_iteration(m: SGGANModels, opt_g, opt_d, pool_r: HistoryPool, pool_v: HistoryPool, batch: UnpairedBatch,
                    alpha: float, beta: float, config: Config, autocast) -> tuple[dict, dict]:
    """One SG-GAN iteration: the G step, then the D step on pooled fakes. Returns losses, images."""
    v, v_labels, v_mask, r, r_labels, r_mask = batch
    g_losses, images = generator_step(m, opt_g, v, v_labels, v_mask, r, r_labels, r_mask,
                                      alpha, beta, config, autocast)
    fake_r, fake_r_mask = pool_r.query(images["fake_r"], v_mask)
    fake_v, fake_v_mask = pool_v.query(images["fake_v"], r_mask)
    d_losses = discriminator_step(m, opt_d, v, v_mask, r, r_mask, fake_r, fake_r_mask, fake_v, fake_v_mask,
                                  autocast)
    return {**g_losses, **d_losses}, images


@register("sggan")
class SGGAN(Translator):
    Config = Config

    def size_multiple(self) -> int:
        return 2 ** self.config.generator_depth

    def generator(self, run_dir: Path | None, device: torch.device) -> nn.Module:
        return load_unet_generator(run_dir, self.name, self.config.generator_depth, device)

    def train(self, source: list[Frame], target: list[Frame], run_dir: Path, device: torch.device,
              seed: int) -> None:
        cfg = self.config

        def build() -> GANParts:
            models = SGGANModels(cfg, len(group_lut(cfg.grouping)[1])).to(device)
            opt_g, opt_d = build_optimizers(models, cfg)
            pool_r, pool_v = HistoryPool(cfg.pool_size, seed * 2 + 1), HistoryPool(cfg.pool_size, seed * 2 + 2)
            autocast = autocast_for(cfg, device)
            weights = {}

            def before_epoch(epoch: int) -> dict[str, float]:
                weights["alpha"], weights["beta"] = cfg.alpha_beta(epoch)
                return dict(weights)

            def iteration(batch: UnpairedBatch, step: int):
                # looked up at call time, so that a test can stand in for it
                return train_iteration(models, opt_g, opt_d, pool_r, pool_v, batch, weights["alpha"],
                                       weights["beta"], cfg, autocast)

            return GANParts(
                state={"models": models, "opt_g": opt_g, "opt_d": opt_d, "pool_r": pool_r, "pool_v": pool_v},
                iteration=iteration,
                sample_rows=cycle_sample_rows,
                generator=models.g_vr.state_dict,
                before_epoch=before_epoch,
            )

        train_gan(self.name, cfg, source, target, run_dir, device, seed, build, LOSS_FIELDS, cfg.grouping)
