"""SimGAN (Shrivastava et al., CVPR 2017): a refiner trained with a local adversarial loss and a
self-regularisation term, its discriminator updated from a history of refined images.

The refiner R (a ResNet without striding, :mod:`sggan.models.simgan`) maps a virtual frame to a
refined one; the discriminator D scores every local patch as real or refined. Only the
virtual->real direction exists: no cycle, no second generator. Each iteration takes a virtual
batch v and a real batch r:

  R step   loss_R = -log sigmoid(D(R(v))) averaged over patches          (local adversarial loss)
                    + lambda_reg * |psi(R(v)) - psi(v)|                  (self-regularisation)
  D step   loss_D = -log sigmoid(D(r)) - log(1 - sigmoid(D(refined))), over patches, the
           refined images drawn from the history pool (Sec. 2.3)

Schedule as the paper's Algorithm 1 and Sec. 3: first R alone on the self-regularisation term
(``pretrain_refiner_steps``, 1000 in the paper), then D alone (``pretrain_discriminator_steps``,
200), then K_g = ``refiner_steps_per_d_step`` (2) refiner steps per discriminator step; plain SGD
at 0.001. Every step consumes one batch of the epoch, so epochs count all three phases.

psi, the feature the refined image must keep: the SG-GAN paper's SimGAN baseline takes
"channel-wise mean values", read here as SimGAN's "mean of color channels" feature (each pixel's
mean over R, G and B: the refiner keeps the scene's intensities and may change its colours);
``self_regularization: identity`` gives SimGAN's default, the image itself.

Deviations of scale, not of kind: the paper's batches are 512 small eye images; here the batch is
SG-GAN's (1 frame) and the history pool the shared one (each new refined image replaces a random
stored one half of the time, so about half of each D batch is history, as in the paper).
lambda_reg has no published value for this task: 1.0 by default.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
from torch import nn

from sggan.data.io import Frame
from sggan.losses import gan_discriminator_loss, gan_generator_loss, self_regularization_loss
from sggan.models.simgan import LocalDiscriminator, Refiner
from sggan.training import (GANParts, HistoryPool, TrainingConfig, autocast_for, load_generator_file,
                            set_requires_grad, train_gan)
from sggan.translators import register
from sggan.translators.base import Translator

LOSS_FIELDS = ["phase", "r_adv", "r_reg", "r_total", "d"]
PHASES = ("refiner-pretraining", "discriminator-pretraining", "adversarial")


@dataclasses.dataclass
class Config(TrainingConfig):
    lambda_reg: float = 1.0
    self_regularization: str = "channel_mean"   # psi: 'channel_mean' (SG-GAN's choice) or 'identity'
    pretrain_refiner_steps: int = 1000
    pretrain_discriminator_steps: int = 200
    refiner_steps_per_d_step: int = 2          # K_g (K_d = 1)
    optimizer: str = "sgd"                     # 'sgd' (the paper) or 'adam' (beta1 0.5)
    lr: float = 0.001
    pool_size: int = 50
    refiner_width: int = 64
    refiner_blocks: int = 4
    d_widths: tuple[int, int, int, int] = (96, 64, 32, 32)

    def __post_init__(self):
        super().__post_init__()
        if self.self_regularization not in ("channel_mean", "identity"):
            raise ValueError(f"simgan: self_regularization must be 'channel_mean' or 'identity', "
                             f"got {self.self_regularization!r}")
        if self.optimizer not in ("sgd", "adam"):
            raise ValueError(f"simgan: optimizer must be 'sgd' or 'adam', got {self.optimizer!r}")
        if self.refiner_steps_per_d_step < 1:
            raise ValueError("simgan: refiner_steps_per_d_step must be at least 1")

    def phase(self, step: int) -> str:
        """The training phase of a step (counted from 0 over the whole run)."""
        if step < self.pretrain_refiner_steps:
            return PHASES[0]
        if step < self.pretrain_refiner_steps + self.pretrain_discriminator_steps:
            return PHASES[1]
        return PHASES[2]


class SimGANModels(nn.Module):
    def __init__(self, config: Config):
        super().__init__()
        self.refiner = Refiner(config.refiner_width, config.refiner_blocks)
        self.d = LocalDiscriminator(tuple(config.d_widths))


def build_optimizers(m: SimGANModels, config: Config) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
    def make(net):
        if config.optimizer == "sgd":
            return torch.optim.SGD(net.parameters(), lr=config.lr)
        return torch.optim.Adam(net.parameters(), lr=config.lr, betas=(0.5, 0.999))
    return make(m.refiner), make(m.d)


def refiner_losses(m: SimGANModels, v: torch.Tensor, config: Config, adversarial: bool) -> tuple[dict, torch.Tensor]:
    """The refiner objective's terms and total on one batch, and the refined images."""
    refined = m.refiner(v)
    losses = {"r_reg": self_regularization_loss(refined, v, config.self_regularization)}
    total = config.lambda_reg * losses["r_reg"]
    if adversarial:
        losses["r_adv"] = gan_generator_loss(m.d(refined))
        total = losses["r_adv"] + total
    losses["r_total"] = total
    return losses, refined


def refiner_step(m: SimGANModels, opt_r: torch.optim.Optimizer, v, config: Config, adversarial: bool,
                 autocast) -> tuple[dict, torch.Tensor]:
    set_requires_grad([m.d], False)
    with autocast:
        losses, refined = refiner_losses(m, v, config, adversarial)
    opt_r.zero_grad(set_to_none=True)
    losses["r_total"].backward()
    opt_r.step()
    set_requires_grad([m.d], True)
    return losses, refined.detach()


def discriminator_step(m: SimGANModels, opt_d: torch.optim.Optimizer, r, pooled_refined, autocast) -> dict:
    with autocast:
        loss = gan_discriminator_loss(m.d(r), m.d(pooled_refined))
    opt_d.zero_grad(set_to_none=True)
    loss.backward()
    opt_d.step()
    return {"d": loss}


def train_iteration(m: SimGANModels, opt_r, opt_d, pool: HistoryPool, v, r, step: int, config: Config,
                    autocast) -> tuple[dict, dict]:
    """One step of the phase ``step`` is in. Returns losses, images."""
    phase = config.phase(step)
    if phase == "discriminator-pretraining":
        with torch.no_grad(), autocast:
            refined = m.refiner(v)
        losses = {}
    else:
        losses, refined = refiner_step(m, opt_r, v, config, phase == "adversarial", autocast)
    first_adversarial = config.pretrain_refiner_steps + config.pretrain_discriminator_steps
    d_due = (phase == "discriminator-pretraining"
             or (phase == "adversarial" and (step - first_adversarial + 1) % config.refiner_steps_per_d_step == 0))
    if d_due:
        (pooled,) = pool.query(refined)
        losses.update(discriminator_step(m, opt_d, r, pooled, autocast))
    losses["phase"] = phase
    return losses, {"v": v, "refined": refined, "r": r}


@register("simgan")
class SimGAN(Translator):
    Config = Config

    def size_multiple(self) -> int:
        return Refiner.size_multiple

    def generator(self, run_dir: Path | None, device: torch.device) -> nn.Module:
        saved = load_generator_file(run_dir, self.name)
        net = Refiner(saved["config"]["refiner_width"], saved["config"]["refiner_blocks"])
        net.load_state_dict(saved["state_dict"])
        return net.to(device).eval()

    def train(self, source: list[Frame], target: list[Frame], run_dir: Path, device: torch.device,
              seed: int) -> None:
        cfg = self.config

        def build() -> GANParts:
            models = SimGANModels(cfg).to(device)
            opt_r, opt_d = build_optimizers(models, cfg)
            pool = HistoryPool(cfg.pool_size, seed * 2 + 1)
            autocast = autocast_for(cfg, device)
            return GANParts(
                state={"models": models, "opt_r": opt_r, "opt_d": opt_d, "pool": pool},
                iteration=lambda b, step: train_iteration(models, opt_r, opt_d, pool, b.v, b.r, step, cfg, autocast),
                sample_rows=lambda im: [[im["v"][0], im["refined"][0], im["r"][0]]],
                generator=models.refiner.state_dict,
            )

        train_gan(self.name, cfg, source, target, run_dir, device, seed, build, LOSS_FIELDS)
