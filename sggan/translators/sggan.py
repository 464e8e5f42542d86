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

import torch
from torch import nn

from sggan.data.labels import group_lut
from sggan.losses import cycle_loss, lsgan_discriminator_loss, lsgan_generator_loss, soft_gradient_loss
from sggan.models import PatchDiscriminator, UNetGenerator
from sggan.training import (
    BOUNDARIES,
    CycleNetworks,
    GANTranslator,
    HistoryPool,
    TrainingConfig,
    UnpairedBatch,
    adam,
    autocast_for,
    frozen,
    update,
)
from sggan.translators import register


@dataclasses.dataclass
class Config(TrainingConfig):
    """SG-GAN's settings on top of the shared loop's (epochs 25, batch 1, 256x512, flips, ...).

    The original resizes every frame straight to 256x512 with no crop: load_size == crop_size.
    """

    lambda_cycle: float = 10.0
    lambda_grad: float = 5.0
    alpha_beta_switch_epoch: int = 3  # (alpha, beta) = early before this epoch, late from it
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
    grouping: str = "sggan"  # 'sggan' (8 groups of the original) or 'cityscapes'
    # B of the soft gradient term: 'colour', the original code's (utils.load_train_data, model.py
    # 65-78: colour labels, PIL bilinear resize, central differences), or 'label_ids'
    # (differences of label ids after a nearest resize: a band about 43% narrower)
    boundary: str = "colour"

    def crop_multiple(self) -> int:
        return 2**self.generator_depth

    def __post_init__(self):
        super().__post_init__()
        for name in ("alpha_beta_early", "alpha_beta_late"):
            alpha, beta = getattr(self, name)
            if alpha < 0 or beta < 0:
                raise ValueError(f"sggan: {name} must be non-negative, got {[alpha, beta]}")
        if self.boundary not in BOUNDARIES:
            raise ValueError(f"sggan: boundary must be one of {list(BOUNDARIES)}, got {self.boundary!r}")

    def alpha_beta(self, epoch: int) -> tuple[float, float]:
        return self.alpha_beta_early if epoch < self.alpha_beta_switch_epoch else self.alpha_beta_late


def networks(config: Config, num_groups: int) -> CycleNetworks:
    return CycleNetworks(
        UNetGenerator(config.ngf, config.generator_depth),  # G: virtual -> real
        UNetGenerator(config.ngf, config.generator_depth),  # F: real -> virtual
        PatchDiscriminator(config.ndf, num_groups, config.semantic_discriminator),  # SD_R
        PatchDiscriminator(config.ndf, num_groups, config.semantic_discriminator),
    )  # SD_V


def generator_objective(
    nets: CycleNetworks, batch: UnpairedBatch, alpha: float, beta: float, config: Config
) -> tuple[dict, dict]:
    """The G step's terms and total on one batch, and the images they came from."""
    v, r = batch.v, batch.r
    with autocast_for(config, v.device):  # in the original's order, which the dropout draws follow
        fake_r = nets.g_vr(v)
        cycled_v = nets.g_rv(fake_r)
        fake_v = nets.g_rv(r)
        cycled_r = nets.g_vr(fake_v)
        # a translated image is judged with the groups of the image it was translated from
        d_fake_r = nets.d_r(fake_r, batch.v_mask)
        d_fake_v = nets.d_v(fake_v, batch.r_mask)
    losses = {
        "g_adv_r": lsgan_generator_loss(d_fake_r),
        "g_adv_v": lsgan_generator_loss(d_fake_v),
        "cycle_v": cycle_loss(v, cycled_v),
        "cycle_r": cycle_loss(r, cycled_r),
        # measured for the log even when the ablation leaves it out of the objective
        "grad_v": soft_gradient_loss(v, fake_r, batch.v_boundary, alpha, beta),
        "grad_r": soft_gradient_loss(r, fake_v, batch.r_boundary, alpha, beta),
    }
    total = losses["g_adv_r"] + losses["g_adv_v"] + config.lambda_cycle * (losses["cycle_v"] + losses["cycle_r"])
    if config.use_gradient_loss:
        total = total + config.lambda_grad * (losses["grad_v"] + losses["grad_r"])
    losses["g_total"] = total
    images = {"v": v, "fake_r": fake_r, "cycled_v": cycled_v, "r": r, "fake_v": fake_v, "cycled_r": cycled_r}
    return losses, images


def discriminator_objective(
    nets: CycleNetworks, batch: UnpairedBatch, fake_r, fake_r_mask, fake_v, fake_v_mask, config: Config
) -> dict:
    """The D step's terms: each discriminator's real frames against (pooled) translated ones."""
    with autocast_for(config, batch.v.device):
        d_real_r, d_fake_r = nets.d_r(batch.r, batch.r_mask), nets.d_r(fake_r, fake_r_mask)
        d_real_v, d_fake_v = nets.d_v(batch.v, batch.v_mask), nets.d_v(fake_v, fake_v_mask)
    return {"d_r": lsgan_discriminator_loss(d_real_r, d_fake_r), "d_v": lsgan_discriminator_loss(d_real_v, d_fake_v)}


@register("sggan")
class SGGAN(GANTranslator):
    Config = Config
    log_fields = (
        "alpha",
        "beta",
        "g_adv_r",
        "g_adv_v",
        "cycle_v",
        "cycle_r",
        "grad_v",
        "grad_r",
        "g_total",
        "d_r",
        "d_v",
    )
    checkpointed = ("nets", "opt_g", "opt_d", "pool_r", "pool_v")

    def build(self, device: torch.device, seed: int) -> None:
        cfg = self.config
        self.nets = networks(cfg, len(group_lut(cfg.grouping)[1])).to(device)
        # one Adam for both generators, one for both discriminators (as the original); no decay
        self.opt_g = adam(self.nets.generators(), cfg.lr, cfg.beta1)
        self.opt_d = adam(self.nets.discriminators(), cfg.lr, cfg.beta1)
        self.pool_r, self.pool_v = HistoryPool(cfg.pool_size, seed * 2 + 1), HistoryPool(cfg.pool_size, seed * 2 + 2)
        self.alpha, self.beta = cfg.alpha_beta(0)

    def before_epoch(self, epoch: int) -> dict[str, float]:
        self.alpha, self.beta = self.config.alpha_beta(epoch)
        return {"alpha": self.alpha, "beta": self.beta}

    def train_step(self, batch: UnpairedBatch, step: int) -> tuple[dict, dict]:
        g_losses, images = self.generator_step(batch)
        return {**g_losses, **self.discriminator_step(batch, images)}, images

    def generator_step(self, batch: UnpairedBatch) -> tuple[dict, dict]:
        with frozen(self.nets.discriminators()):
            losses, images = generator_objective(self.nets, batch, self.alpha, self.beta, self.config)
            update(self.opt_g, losses["g_total"])
        return losses, {k: t.detach() for k, t in images.items()}

    def discriminator_step(self, batch: UnpairedBatch, images: dict) -> dict:
        """On pooled fakes, each kept with the group mask of the frame it was translated from."""
        fake_r, fake_r_mask = self.pool_r.query(images["fake_r"], batch.v_mask)
        fake_v, fake_v_mask = self.pool_v.query(images["fake_v"], batch.r_mask)
        losses = discriminator_objective(self.nets, batch, fake_r, fake_r_mask, fake_v, fake_v_mask, self.config)
        update(self.opt_d, losses["d_r"] + losses["d_v"])
        return losses

    def grouping(self) -> str:
        return self.config.grouping

    def boundary(self) -> str:
        return self.config.boundary

    def generator_network(self) -> nn.Module:
        return UNetGenerator(self.config.ngf, self.config.generator_depth)

    def generator_state(self) -> dict[str, torch.Tensor]:
        return self.nets.g_vr.state_dict()
