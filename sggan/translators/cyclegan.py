"""CycleGAN (Zhu et al., ICCV 2017): the Table 2 baseline SG-GAN builds on.

Two ResNet generators, G: V->R and F: R->V, and two 70x70 PatchGAN discriminators, D_R and D_V.
Each iteration takes one batch of virtual frames v and one of real frames r:

  G step   adv   = LSGAN(D_R(G(v))) + LSGAN(D_V(F(r)))
           cycle = |F(G(v)) - v| + |G(F(r)) - r|
           ident = |G(r) - r| + |F(v) - v|            (lambda_identity 0 leaves it out)
           loss  = adv + lambda_cycle * cycle + lambda_cycle * lambda_identity * ident
  D step   for each D: (LSGAN real + LSGAN fake) / 2, the fakes drawn from a history pool of 50.

Adam 2e-4, beta1 0.5; the learning rate is constant for the first half of the epochs and then
decays linearly towards zero, by the reference code's rule: in epoch e (from 0) of E, with D
decaying epochs, it is lr * (1 - max(0, e + 1 - (E - D)) / (D + 1)). The paper trains 100 + 100
epochs.

Defaults are the reference code's (junyanz/pytorch-CycleGAN-and-pix2pix), so that the row means
what readers of the paper take "CycleGAN" to mean (docs/fidelity.md):

- jitter: frames resized to 286x572 and randomly cropped to 256x512 (the reference's
  ``--load_size 286 --crop_size 256`` at GTA-V and Cityscapes' 1:2), and flipped;
- ``lambda_identity`` 0.5 (cycle_gan_model.py's default; the CycleGAN paper's Sec. 5.2 used it
  for painting->photo);
- ``discriminator: reference``, the reference's 70x70 PatchGAN (sggan.models.cyclegan_patchgan:
  biases, padding 1, non-affine instance norm); ``sggan`` is SG-GAN's standard PatchGAN (the same
  layers and receptive field, bias-free, affine norm, TensorFlow "SAME" padding), as this
  benchmark used before.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from sggan.losses import cycle_loss, lsgan_discriminator_loss, lsgan_generator_loss
from sggan.models import CycleGANPatchDiscriminator, PatchDiscriminator
from sggan.models.resnet import ResnetGenerator
from sggan.training import (
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

DISCRIMINATORS = {
    "reference": CycleGANPatchDiscriminator,
    "sggan": lambda ndf: PatchDiscriminator(ndf, 1, semantic=False),
}


@dataclasses.dataclass
class Config(TrainingConfig):
    epochs: int = 200
    decay_epochs: int | None = None  # epochs of linear decay at the end; None: the second half
    lambda_cycle: float = 10.0
    lambda_identity: float = 0.5  # relative to lambda_cycle (cycle_gan_model.py)
    lr: float = 2e-4
    beta1: float = 0.5
    pool_size: int = 50
    ngf: int = 64
    ndf: int = 64
    blocks: int = 9  # residual blocks: 9 at 256x256 and above, 6 at 128x128
    discriminator: str = "reference"  # 'reference' (networks.py NLayerDiscriminator) or 'sggan'
    load_size: tuple[int, int] = (286, 572)  # base_options.py --load_size 286, at 1:2
    crop_size: tuple[int, int] = (256, 512)  # --crop_size 256, at 1:2

    def crop_multiple(self) -> int:
        return ResnetGenerator.size_multiple

    def __post_init__(self):
        super().__post_init__()
        if self.decay_epochs is not None and not 0 <= self.decay_epochs <= self.epochs:
            raise ValueError(f"cyclegan: decay_epochs must be between 0 and epochs ({self.epochs})")
        if self.discriminator not in DISCRIMINATORS:
            raise ValueError(
                f"cyclegan: discriminator must be one of {list(DISCRIMINATORS)}, got {self.discriminator!r}"
            )

    def lr_factor(self, epoch: int) -> float:
        """The reference code's linear policy: 1 until the decay starts, then linearly towards 0."""
        decay = self.epochs // 2 if self.decay_epochs is None else self.decay_epochs
        return 1.0 - max(0, epoch + 1 - (self.epochs - decay)) / (decay + 1)


def networks(config: Config) -> CycleNetworks:
    return CycleNetworks(
        ResnetGenerator(config.ngf, config.blocks),  # G: virtual -> real
        ResnetGenerator(config.ngf, config.blocks),  # F: real -> virtual
        DISCRIMINATORS[config.discriminator](config.ndf),
        DISCRIMINATORS[config.discriminator](config.ndf),
    )


def generator_objective(nets: CycleNetworks, batch: UnpairedBatch, config: Config) -> tuple[dict, dict]:
    """The G step's terms and total on one batch, and the images they came from."""
    v, r = batch.v, batch.r
    with autocast_for(config, v.device):
        images = nets.translate_and_cycle(v, r)
        losses = {
            "g_adv_r": lsgan_generator_loss(nets.d_r(images["fake_r"])),
            "g_adv_v": lsgan_generator_loss(nets.d_v(images["fake_v"])),
            "cycle_v": cycle_loss(v, images["cycled_v"]),
            "cycle_r": cycle_loss(r, images["cycled_r"]),
        }
        total = losses["g_adv_r"] + losses["g_adv_v"] + config.lambda_cycle * (losses["cycle_v"] + losses["cycle_r"])
        if config.lambda_identity > 0:  # G should leave real images alone, F virtual ones
            losses["idt_r"] = cycle_loss(r, nets.g_vr(r))
            losses["idt_v"] = cycle_loss(v, nets.g_rv(v))
            total = total + config.lambda_cycle * config.lambda_identity * (losses["idt_r"] + losses["idt_v"])
    losses["g_total"] = total
    return losses, images


def discriminator_objective(nets: CycleNetworks, batch: UnpairedBatch, fake_r, fake_v, config: Config) -> dict:
    """The D step's terms: each discriminator's real frames against (pooled) translated ones."""
    with autocast_for(config, batch.v.device):
        return {
            "d_r": lsgan_discriminator_loss(nets.d_r(batch.r), nets.d_r(fake_r)),
            "d_v": lsgan_discriminator_loss(nets.d_v(batch.v), nets.d_v(fake_v)),
        }


@register("cyclegan")
class CycleGAN(GANTranslator):
    Config = Config
    log_fields = ("lr", "g_adv_r", "g_adv_v", "cycle_v", "cycle_r", "idt_r", "idt_v", "g_total", "d_r", "d_v")
    checkpointed = ("nets", "opt_g", "opt_d", "pool_r", "pool_v")

    def build(self, device: torch.device, seed: int) -> None:
        cfg = self.config
        self.nets = networks(cfg).to(device)
        # one Adam for both generators, one for both discriminators, as the reference code
        self.opt_g = adam(self.nets.generators(), cfg.lr, cfg.beta1)
        self.opt_d = adam(self.nets.discriminators(), cfg.lr, cfg.beta1)
        self.pool_r, self.pool_v = HistoryPool(cfg.pool_size, seed * 2 + 1), HistoryPool(cfg.pool_size, seed * 2 + 2)

    def before_epoch(self, epoch: int) -> dict[str, float]:
        lr = self.config.lr * self.config.lr_factor(epoch)
        for optimizer in (self.opt_g, self.opt_d):
            for group in optimizer.param_groups:
                group["lr"] = lr
        return {"lr": lr}

    def train_step(self, batch: UnpairedBatch, step: int) -> tuple[dict, dict]:
        g_losses, images = self.generator_step(batch)
        return {**g_losses, **self.discriminator_step(batch, images)}, images

    def generator_step(self, batch: UnpairedBatch) -> tuple[dict, dict]:
        with frozen(self.nets.discriminators()):
            losses, images = generator_objective(self.nets, batch, self.config)
            update(self.opt_g, losses["g_total"])
        return losses, {k: t.detach() for k, t in images.items()}

    def discriminator_step(self, batch: UnpairedBatch, images: dict) -> dict:
        """On fakes drawn from the history pools."""
        (fake_r,), (fake_v,) = self.pool_r.query(images["fake_r"]), self.pool_v.query(images["fake_v"])
        losses = discriminator_objective(self.nets, batch, fake_r, fake_v, self.config)
        update(self.opt_d, losses["d_r"] + losses["d_v"])
        return losses

    def generator_network(self) -> nn.Module:
        return ResnetGenerator(self.config.ngf, self.config.blocks)

    def generator_state(self) -> dict[str, torch.Tensor]:
        return self.nets.g_vr.state_dict()
