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

import torch
from torch import nn

from sggan.losses import cycle_loss, wasserstein_critic_loss, wasserstein_generator_loss
from sggan.models import PatchDiscriminator, UNetGenerator
from sggan.training import CycleNetworks, GANTranslator, TrainingConfig, UnpairedBatch, autocast_for, frozen, update
from sggan.translators import register


@dataclasses.dataclass
class Config(TrainingConfig):
    epochs: int = 45  # the DualGAN code's README trains 45 epochs
    lambda_v: float = 500.0  # reconstruction of virtual frames, |G_B(G_A(v)) - v|
    lambda_r: float = 500.0  # reconstruction of real frames, |G_A(G_B(r)) - r|
    clip: float = 0.01  # critic weights are kept in [-clip, clip]
    n_critic: int = 2  # critic steps per generator step
    lr: float = 5e-5  # RMSProp, both critics and generators
    ngf: int = 64
    ndf: int = 64
    generator_depth: int = 8

    def crop_multiple(self) -> int:
        return 2**self.generator_depth

    def __post_init__(self):
        super().__post_init__()
        if self.n_critic < 1 or self.clip <= 0:
            raise ValueError("dualgan: n_critic must be at least 1 and clip positive")


def networks(config: Config) -> CycleNetworks:
    return CycleNetworks(
        UNetGenerator(config.ngf, config.generator_depth),  # G_A: virtual -> real (primal)
        UNetGenerator(config.ngf, config.generator_depth),  # G_B: real -> virtual (dual)
        PatchDiscriminator(config.ndf, 1, semantic=False),  # critic of real frames
        PatchDiscriminator(config.ndf, 1, semantic=False),
    )  # critic of virtual frames


@torch.no_grad()
def clip_critics(nets: CycleNetworks, clip: float) -> None:
    """WGAN's Lipschitz constraint: every critic parameter into [-clip, clip]."""
    for p in itertools.chain(nets.d_r.parameters(), nets.d_v.parameters()):
        p.clamp_(-clip, clip)


def critic_objective(nets: CycleNetworks, batch: UnpairedBatch, fake_r, fake_v) -> dict:
    return {
        "d_r": wasserstein_critic_loss(nets.d_r(batch.r), nets.d_r(fake_r)),
        "d_v": wasserstein_critic_loss(nets.d_v(batch.v), nets.d_v(fake_v)),
    }


def generator_objective(nets: CycleNetworks, batch: UnpairedBatch, config: Config) -> tuple[dict, dict]:
    """The G step's terms and total on one batch, and the images they came from."""
    images = nets.translate_and_cycle(batch.v, batch.r)  # the reconstructions are the cycled images
    losses = {
        "g_adv_r": wasserstein_generator_loss(nets.d_r(images["fake_r"])),
        "g_adv_v": wasserstein_generator_loss(nets.d_v(images["fake_v"])),
        "recon_v": cycle_loss(batch.v, images["cycled_v"]),
        "recon_r": cycle_loss(batch.r, images["cycled_r"]),
    }
    losses["g_total"] = (
        losses["g_adv_r"]
        + losses["g_adv_v"]
        + config.lambda_v * losses["recon_v"]
        + config.lambda_r * losses["recon_r"]
    )
    return losses, images


@register("dualgan")
class DualGAN(GANTranslator):
    Config = Config
    log_fields = ("d_r", "d_v", "g_adv_r", "g_adv_v", "recon_v", "recon_r", "g_total")
    checkpointed = ("nets", "opt_g", "opt_d")

    def build(self, device: torch.device, seed: int) -> None:
        self.nets = networks(self.config).to(device)
        clip_critics(self.nets, self.config.clip)  # the critics start inside the constraint set
        self.opt_g = torch.optim.RMSprop(
            itertools.chain(*(n.parameters() for n in self.nets.generators())), lr=self.config.lr
        )
        self.opt_d = torch.optim.RMSprop(
            itertools.chain(*(n.parameters() for n in self.nets.discriminators())), lr=self.config.lr
        )

    def train_step(self, batch: UnpairedBatch, step: int) -> tuple[dict, dict]:
        """A critic step, then a G step on every n_critic-th iteration."""
        losses, images = self.critic_step(batch)
        if (step + 1) % self.config.n_critic == 0:
            g_losses, images = self.generator_step(batch)
            losses.update(g_losses)
        return losses, images

    def critic_step(self, batch: UnpairedBatch) -> tuple[dict, dict]:
        """One RMSProp step of both critics on the generators' current output, then the clipping."""
        with torch.no_grad(), autocast_for(self.config, batch.v.device):
            fake_r, fake_v = self.nets.g_vr(batch.v), self.nets.g_rv(batch.r)
        with autocast_for(self.config, batch.v.device):
            losses = critic_objective(self.nets, batch, fake_r, fake_v)
        update(self.opt_d, losses["d_r"] + losses["d_v"])
        clip_critics(self.nets, self.config.clip)
        return losses, {"v": batch.v, "fake_r": fake_r, "r": batch.r, "fake_v": fake_v}

    def generator_step(self, batch: UnpairedBatch) -> tuple[dict, dict]:
        with frozen(self.nets.discriminators()):
            with autocast_for(self.config, batch.v.device):
                losses, images = generator_objective(self.nets, batch, self.config)
            update(self.opt_g, losses["g_total"])
        return losses, {k: t.detach() for k, t in images.items()}

    def generator_network(self) -> nn.Module:
        return UNetGenerator(self.config.ngf, self.config.generator_depth)

    def generator_state(self) -> dict[str, torch.Tensor]:
        return self.nets.g_vr.state_dict()
