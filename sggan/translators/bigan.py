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

import torch
from torch import nn

from sggan.losses import gan_discriminator_loss
from sggan.models.bigan import EncodeGenerate, Encoder, Generator, JointDiscriminator
from sggan.training import GANTranslator, TrainingConfig, UnpairedBatch, autocast_for, frozen, update
from sggan.translators import register


@dataclasses.dataclass
class Config(TrainingConfig):
    lr: float = 2e-4
    beta1: float = 0.5
    weight_decay: float = 2.5e-5
    depth: int = 4  # the code map is 1/2**depth of the image
    code_channels: int = 64
    ngf: int = 64  # encoder and generator width
    ndf: int = 64
    d_dropout: float = 0.2

    def crop_multiple(self) -> int:
        return 2**self.depth


class BiGANNetworks(nn.Module):
    def __init__(self, config: Config):
        super().__init__()
        self.encoder = Encoder(config.ngf, config.depth, config.code_channels)
        self.generator = Generator(config.ngf, config.depth, config.code_channels)
        self.d = JointDiscriminator(config.ndf, config.depth, config.code_channels, config.d_dropout)


def sample_prior(like: torch.Tensor, config: Config) -> torch.Tensor:
    """z ~ U(-1, 1), one code map per image of the batch ``like``."""
    n, _, height, width = like.shape
    scale = 2**config.depth
    return torch.rand(n, config.code_channels, height // scale, width // scale, device=like.device) * 2 - 1


def encoder_generator_objective(nets: BiGANNetworks, x: torch.Tensor, z: torch.Tensor) -> tuple[dict, dict]:
    """E and G win when data pairs look generated and generated pairs look like data."""
    code, generated = nets.encoder(x), nets.generator(z)
    losses = {"eg": gan_discriminator_loss(nets.d(generated, z), nets.d(x, code))}  # the labels swapped
    return losses, {"code": code, "generated": generated}


@register("bigan")
class BiGAN(GANTranslator):
    Config = Config
    log_fields = ("eg", "d")
    checkpointed = ("nets", "opt_eg", "opt_d")

    def build(self, device: torch.device, seed: int) -> None:
        cfg = self.config
        self.nets = BiGANNetworks(cfg).to(device)

        def adam(params) -> torch.optim.Adam:
            return torch.optim.Adam(params, lr=cfg.lr, betas=(cfg.beta1, 0.999), weight_decay=cfg.weight_decay)

        # one Adam for encoder and generator together, one for the discriminator
        self.opt_eg = adam(itertools.chain(self.nets.encoder.parameters(), self.nets.generator.parameters()))
        self.opt_d = adam(self.nets.d.parameters())
        self.adapter = EncodeGenerate(self.nets.encoder, self.nets.generator)  # shares the training networks

    def train_step(self, batch: UnpairedBatch, step: int) -> tuple[dict, dict]:
        """The E,G step on real frames, then the D step on the same pairs. The virtual batch
        takes no part; it rides along to the sample grids."""
        r = batch.r
        z = sample_prior(r, self.config)
        losses, out = self.encoder_generator_step(r, z)
        with autocast_for(self.config, r.device):
            losses["d"] = gan_discriminator_loss(self.nets.d(r, out["code"]), self.nets.d(out["generated"], z))
        update(self.opt_d, losses["d"])
        return losses, {"v": batch.v, "r": r, "generated": out["generated"]}

    def encoder_generator_step(self, x: torch.Tensor, z: torch.Tensor) -> tuple[dict, dict]:
        with frozen([self.nets.d]):
            with autocast_for(self.config, x.device):
                losses, out = encoder_generator_objective(self.nets, x, z)
            update(self.opt_eg, losses["eg"])
        return losses, {k: t.detach() for k, t in out.items()}

    @torch.no_grad()
    def sample_rows(self, images: dict) -> list[list[torch.Tensor]]:
        """v | G(E(v)), r | G(E(r)), and G(z) of a code from the prior."""
        v, r = images["v"][:1], images["r"][:1]
        return [[v[0], self.adapter(v)[0]], [r[0], self.adapter(r)[0]], [images["generated"][0]]]

    def generator_network(self) -> nn.Module:
        return EncodeGenerate(
            Encoder(self.config.ngf, self.config.depth, self.config.code_channels),
            Generator(self.config.ngf, self.config.depth, self.config.code_channels),
        )

    def generator_state(self) -> dict[str, torch.Tensor]:
        return self.adapter.state_dict()
