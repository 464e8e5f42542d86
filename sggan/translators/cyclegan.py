"""CycleGAN (Zhu et al., ICCV 2017): the Table 2 baseline SG-GAN builds on.

Two ResNet generators, G: V->R and F: R->V, and two 70x70 PatchGAN discriminators, D_R and D_V.
Each iteration takes one batch of virtual frames v and one of real frames r:

  G step   adv   = LSGAN(D_R(G(v))) + LSGAN(D_V(F(r)))
           cycle = |F(G(v)) - v| + |G(F(r)) - r|
           ident = |G(r) - r| + |F(v) - v|            (optional, off by default)
           loss  = adv + lambda_cycle * cycle + lambda_cycle * lambda_identity * ident
  D step   for each D: (LSGAN real + LSGAN fake) / 2, the fakes drawn from a history pool of 50.

Adam 2e-4, beta1 0.5; the learning rate is constant for the first half of the epochs and then
decays linearly towards zero, by the reference code's rule: in epoch e (from 0) of E, with D
decaying epochs, it is lr * (1 - max(0, e + 1 - (E - D)) / (D + 1)). The paper trains 100 + 100
epochs.

The identity term is the paper's Sec. 5.2 addition for painting->photo (weight 0.5 * lambda_cycle
there, the reference code's default); the paper's own Cityscapes experiments leave it out, and
so does the default here. The discriminator is the 70x70 PatchGAN shared with SG-GAN (one output
channel, TensorFlow "SAME" padding, bias-free convolutions): the same layers and receptive field
as the reference code's, whose convolutions have biases and pad by one pixel.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
from torch import nn

from sggan.data.io import Frame
from sggan.losses import cycle_loss, lsgan_discriminator_loss, lsgan_generator_loss
from sggan.models import PatchDiscriminator
from sggan.models.resnet import ResnetGenerator
from sggan.training import (GANParts, HistoryPool, TrainingConfig, adam, autocast_for, cycle_sample_rows,
                            load_generator_file, set_requires_grad, train_gan)
from sggan.translators import register
from sggan.translators.base import Translator

LOSS_FIELDS = ["lr", "g_adv_r", "g_adv_v", "cycle_v", "cycle_r", "idt_r", "idt_v", "g_total", "d_r", "d_v"]


@dataclasses.dataclass
class Config(TrainingConfig):
    epochs: int = 200
    decay_epochs: int | None = None          # epochs of linear decay at the end; None: the second half
    lambda_cycle: float = 10.0
    lambda_identity: float = 0.0             # relative to lambda_cycle; the reference code's default is 0.5
    lr: float = 2e-4
    beta1: float = 0.5
    pool_size: int = 50
    ngf: int = 64
    ndf: int = 64
    blocks: int = 9                          # residual blocks: 9 at 256x256 and above, 6 at 128x128

    def crop_multiple(self) -> int:
        return ResnetGenerator.size_multiple

    def __post_init__(self):
        super().__post_init__()
        if self.decay_epochs is not None and not 0 <= self.decay_epochs <= self.epochs:
            raise ValueError(f"cyclegan: decay_epochs must be between 0 and epochs ({self.epochs})")

    def lr_factor(self, epoch: int) -> float:
        """The reference code's linear policy: 1 until the decay starts, then linearly towards 0."""
        decay = self.epochs // 2 if self.decay_epochs is None else self.decay_epochs
        return 1.0 - max(0, epoch + 1 - (self.epochs - decay)) / (decay + 1)


class CycleGANModels(nn.Module):
    def __init__(self, config: Config):
        super().__init__()
        self.g_vr = ResnetGenerator(config.ngf, config.blocks)   # G: virtual -> real
        self.g_rv = ResnetGenerator(config.ngf, config.blocks)   # F: real -> virtual
        self.d_r = PatchDiscriminator(config.ndf, 1, semantic=False)
        self.d_v = PatchDiscriminator(config.ndf, 1, semantic=False)

    def generators(self) -> list[nn.Module]:
        return [self.g_vr, self.g_rv]

    def discriminators(self) -> list[nn.Module]:
        return [self.d_r, self.d_v]


def build_optimizers(m: CycleGANModels, config: Config) -> tuple[torch.optim.Adam, torch.optim.Adam]:
    """One Adam for both generators, one for both discriminators, as the reference code."""
    return adam(m.generators(), config.lr, config.beta1), adam(m.discriminators(), config.lr, config.beta1)


def generator_losses(m: CycleGANModels, v: torch.Tensor, r: torch.Tensor, config: Config) -> tuple[dict, dict]:
    """The generator objective's terms and total on one batch, and the images they came from."""
    fake_r, fake_v = m.g_vr(v), m.g_rv(r)
    cycled_v, cycled_r = m.g_rv(fake_r), m.g_vr(fake_v)
    losses = {
        "g_adv_r": lsgan_generator_loss(m.d_r(fake_r)),
        "g_adv_v": lsgan_generator_loss(m.d_v(fake_v)),
        "cycle_v": cycle_loss(v, cycled_v),
        "cycle_r": cycle_loss(r, cycled_r),
    }
    total = losses["g_adv_r"] + losses["g_adv_v"] + config.lambda_cycle * (losses["cycle_v"] + losses["cycle_r"])
    if config.lambda_identity > 0:  # G should leave real images alone, F virtual ones
        losses["idt_r"] = cycle_loss(r, m.g_vr(r))
        losses["idt_v"] = cycle_loss(v, m.g_rv(v))
        total = total + config.lambda_cycle * config.lambda_identity * (losses["idt_r"] + losses["idt_v"])
    losses["g_total"] = total
    images = {"v": v, "fake_r": fake_r, "cycled_v": cycled_v, "r": r, "fake_v": fake_v, "cycled_r": cycled_r}
    return losses, images


def generator_step(m: CycleGANModels, opt_g: torch.optim.Optimizer, v, r, config: Config,
                   autocast) -> tuple[dict, dict]:
    set_requires_grad(m.discriminators(), False)  # no weight gradients for D in the G step
    with autocast:
        losses, images = generator_losses(m, v, r, config)
    opt_g.zero_grad(set_to_none=True)
    losses["g_total"].backward()
    opt_g.step()
    set_requires_grad(m.discriminators(), True)
    return losses, {k: t.detach() for k, t in images.items()}


def discriminator_step(m: CycleGANModels, opt_d: torch.optim.Optimizer, v, r, pooled_fake_r, pooled_fake_v,
                       autocast) -> dict:
    with autocast:
        losses = {"d_r": lsgan_discriminator_loss(m.d_r(r), m.d_r(pooled_fake_r)),
                  "d_v": lsgan_discriminator_loss(m.d_v(v), m.d_v(pooled_fake_v))}
    opt_d.zero_grad(set_to_none=True)
    (losses["d_r"] + losses["d_v"]).backward()
    opt_d.step()
    return losses


def train_iteration(m: CycleGANModels, opt_g, opt_d, pool_r: HistoryPool, pool_v: HistoryPool, v, r,
                    config: Config, autocast) -> tuple[dict, dict]:
    """One CycleGAN iteration: the G step, then the D step on pooled fakes. Returns losses, images."""
    g_losses, images = generator_step(m, opt_g, v, r, config, autocast)
    (fake_r,), (fake_v,) = pool_r.query(images["fake_r"]), pool_v.query(images["fake_v"])
    d_losses = discriminator_step(m, opt_d, v, r, fake_r, fake_v, autocast)
    return {**g_losses, **d_losses}, images


def set_learning_rate(optimizers, lr: float) -> None:
    for optimizer in optimizers:
        for group in optimizer.param_groups:
            group["lr"] = lr


@register("cyclegan")
class CycleGAN(Translator):
    Config = Config

    def size_multiple(self) -> int:
        return ResnetGenerator.size_multiple

    def generator(self, run_dir: Path | None, device: torch.device) -> nn.Module:
        saved = load_generator_file(run_dir, self.name)
        net = ResnetGenerator(saved["config"]["ngf"], saved["config"]["blocks"])
        net.load_state_dict(saved["state_dict"])
        return net.to(device).eval()

    def train(self, source: list[Frame], target: list[Frame], run_dir: Path, device: torch.device,
              seed: int) -> None:
        cfg = self.config

        def build() -> GANParts:
            models = CycleGANModels(cfg).to(device)
            opt_g, opt_d = build_optimizers(models, cfg)
            pool_r, pool_v = HistoryPool(cfg.pool_size, seed * 2 + 1), HistoryPool(cfg.pool_size, seed * 2 + 2)
            autocast = autocast_for(cfg, device)

            def before_epoch(epoch: int) -> dict[str, float]:
                lr = cfg.lr * cfg.lr_factor(epoch)
                set_learning_rate([opt_g, opt_d], lr)
                return {"lr": lr}

            def iteration(batch, step):
                # looked up at call time, so that a test can stand in for it
                return train_iteration(models, opt_g, opt_d, pool_r, pool_v, batch.v, batch.r, cfg, autocast)

            return GANParts(
                state={"models": models, "opt_g": opt_g, "opt_d": opt_d, "pool_r": pool_r, "pool_v": pool_v},
                iteration=iteration,
                sample_rows=cycle_sample_rows,
                generator=models.g_vr.state_dict,
                before_epoch=before_epoch,
            )

        train_gan(self.name, cfg, source, target, run_dir, device, seed, build, LOSS_FIELDS)
