"""BiGAN (Donahue et al., ICLR 2017) / ALI (Dumoulin et al., ICLR 2017) as a scene translator.

BiGAN learns a generator G: z -> x together with an encoder E: x -> z, the inverse mapping of a
standard GAN, by a discriminator that judges *joint* pairs: data pairs (x, E(x)) against
generated pairs (G(z), z), z ~ U(-1, 1). At the optimum E inverts G.

Reading for unpaired virtual->real adaptation (the SG-GAN paper says only that BiGAN "learns the
inverse mapping of standard GANs, which can also be used for unpaired scene adaption"): the
BiGAN is trained on the *real* (target) frames, so that G renders real-looking images and E
maps an image to the code G would render it from; a virtual frame v is adapted by encoding it and
generating from its code, G(E(v)): the real-world image closest to v in the BiGAN's latent space.
The virtual frames take no part in training (the sample grids show v -> G(E(v)) to follow it).

Each iteration takes a real batch r (and z drawn from the prior):

  E,G step  loss = -log(1 - sigmoid(D(r, E(r)))) - log sigmoid(D(G(z), z))
            (the paper's "inverted labels" objective for E and G, non-saturating)
  D step    loss = -log sigmoid(D(r, E(r))) - log(1 - sigmoid(D(G(z), z)))

Adam 2e-4, beta1 0.5, weight decay 2.5e-5 on every network (the papers' settings); the code is
a spatial map (see :mod:`sggan.models.bigan`) so the networks stay fully convolutional.
"""
from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import torch
from torch import nn

from sggan.data.io import Frame
from sggan.losses import gan_discriminator_loss
from sggan.models.bigan import EncodeGenerate, Encoder, Generator, JointDiscriminator
from sggan.training import GANParts, TrainingConfig, autocast_for, load_generator_file, set_requires_grad, train_gan
from sggan.translators import register
from sggan.translators.base import Translator

LOSS_FIELDS = ["eg", "d"]


@dataclasses.dataclass
class Config(TrainingConfig):
    lr: float = 2e-4
    beta1: float = 0.5
    weight_decay: float = 2.5e-5
    depth: int = 4                           # the code map is 1/2**depth of the image
    code_channels: int = 64
    ngf: int = 64                            # encoder and generator width
    ndf: int = 64
    d_dropout: float = 0.2

    def crop_multiple(self) -> int:
        return 2 ** self.depth


class BiGANModels(nn.Module):
    def __init__(self, config: Config):
        super().__init__()
        self.encoder = Encoder(config.ngf, config.depth, config.code_channels)
        self.generator = Generator(config.ngf, config.depth, config.code_channels)
        self.d = JointDiscriminator(config.ndf, config.depth, config.code_channels, config.d_dropout)


def build_optimizers(m: BiGANModels, config: Config) -> tuple[torch.optim.Adam, torch.optim.Adam]:
    """One Adam for encoder and generator together, one for the discriminator."""
    def adam(params):
        return torch.optim.Adam(params, lr=config.lr, betas=(config.beta1, 0.999), weight_decay=config.weight_decay)
    return adam(itertools.chain(m.encoder.parameters(), m.generator.parameters())), adam(m.d.parameters())


def sample_prior(like: torch.Tensor, config: Config) -> torch.Tensor:
    """z ~ U(-1, 1), one code map per image of the batch ``like``."""
    n, _, height, width = like.shape
    scale = 2 ** config.depth
    return torch.rand(n, config.code_channels, height // scale, width // scale, device=like.device) * 2 - 1


def encoder_generator_losses(m: BiGANModels, x: torch.Tensor, z: torch.Tensor) -> tuple[dict, dict]:
    """E and G win when data pairs look generated and generated pairs look like data."""
    code, generated = m.encoder(x), m.generator(z)
    losses = {"eg": gan_discriminator_loss(m.d(generated, z), m.d(x, code))}  # the labels swapped
    return losses, {"code": code, "generated": generated}


def encoder_generator_step(m: BiGANModels, opt_eg: torch.optim.Optimizer, x, z, autocast) -> tuple[dict, dict]:
    set_requires_grad([m.d], False)
    with autocast:
        losses, out = encoder_generator_losses(m, x, z)
    opt_eg.zero_grad(set_to_none=True)
    losses["eg"].backward()
    opt_eg.step()
    set_requires_grad([m.d], True)
    return losses, {k: t.detach() for k, t in out.items()}


def discriminator_step(m: BiGANModels, opt_d: torch.optim.Optimizer, x, code, z, generated, autocast) -> dict:
    with autocast:
        loss = gan_discriminator_loss(m.d(x, code), m.d(generated, z))
    opt_d.zero_grad(set_to_none=True)
    loss.backward()
    opt_d.step()
    return {"d": loss}


def train_iteration(m: BiGANModels, opt_eg, opt_d, v, r, config: Config, autocast) -> tuple[dict, dict]:
    """One BiGAN iteration on real frames: the E,G step, then the D step on the same pairs.

    The virtual batch v takes no part; it rides along to the sample grids."""
    z = sample_prior(r, config)
    losses, out = encoder_generator_step(m, opt_eg, r, z, autocast)
    losses.update(discriminator_step(m, opt_d, r, out["code"], z, out["generated"], autocast))
    return losses, {"v": v, "r": r, "generated": out["generated"]}


@register("bigan")
class BiGAN(Translator):
    Config = Config

    def size_multiple(self) -> int:
        return 2 ** self.config.depth

    def generator(self, run_dir: Path | None, device: torch.device) -> nn.Module:
        saved = load_generator_file(run_dir, self.name)
        trained = saved["config"]
        if trained["depth"] != self.config.depth:
            raise ValueError(f"{run_dir}/generator.pt holds networks of depth {trained['depth']}, the config "
                             f"asks for {self.config.depth}; use the parameters it was trained with")
        net = EncodeGenerate(Encoder(trained["ngf"], trained["depth"], trained["code_channels"]),
                             Generator(trained["ngf"], trained["depth"], trained["code_channels"]))
        net.load_state_dict(saved["state_dict"])
        return net.to(device).eval()

    def train(self, source: list[Frame], target: list[Frame], run_dir: Path, device: torch.device,
              seed: int) -> None:
        cfg = self.config

        def build() -> GANParts:
            models = BiGANModels(cfg).to(device)
            opt_eg, opt_d = build_optimizers(models, cfg)
            autocast = autocast_for(cfg, device)
            adapt = EncodeGenerate(models.encoder, models.generator)  # shares the training networks

            @torch.no_grad()
            def sample_rows(images: dict) -> list[list[torch.Tensor]]:
                """v | G(E(v)), r | G(E(r)), and G(z) of a code from the prior."""
                v, r = images["v"][:1], images["r"][:1]
                return [[v[0], adapt(v)[0]], [r[0], adapt(r)[0]], [images["generated"][0]]]

            return GANParts(
                state={"models": models, "opt_eg": opt_eg, "opt_d": opt_d},
                iteration=lambda b, step: train_iteration(models, opt_eg, opt_d, b.v, b.r, cfg, autocast),
                sample_rows=sample_rows,
                generator=adapt.state_dict,
            )

        train_gan(self.name, cfg, source, target, run_dir, device, seed, build, LOSS_FIELDS)
