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

import torch
from torch import nn

from sggan.losses import gan_discriminator_loss, gan_generator_loss, self_regularization_loss
from sggan.models.simgan import LocalDiscriminator, Refiner
from sggan.training import GANTranslator, HistoryPool, TrainingConfig, UnpairedBatch, autocast_for, frozen, update
from sggan.translators import register

PHASES = ("refiner-pretraining", "discriminator-pretraining", "adversarial")


@dataclasses.dataclass
class Config(TrainingConfig):
    lambda_reg: float = 1.0
    self_regularization: str = "channel_mean"  # psi: 'channel_mean' (SG-GAN's choice) or 'identity'
    pretrain_refiner_steps: int = 1000
    pretrain_discriminator_steps: int = 200
    refiner_steps_per_d_step: int = 2  # K_g (K_d = 1)
    optimizer: str = "sgd"  # 'sgd' (the paper) or 'adam' (beta1 0.5)
    lr: float = 0.001
    pool_size: int = 50
    refiner_width: int = 64
    refiner_blocks: int = 4
    d_widths: tuple[int, int, int, int] = (96, 64, 32, 32)

    def __post_init__(self):
        super().__post_init__()
        if self.self_regularization not in ("channel_mean", "identity"):
            raise ValueError(
                f"simgan: self_regularization must be 'channel_mean' or 'identity', got {self.self_regularization!r}"
            )
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


class SimGANNetworks(nn.Module):
    def __init__(self, config: Config):
        super().__init__()
        self.refiner = Refiner(config.refiner_width, config.refiner_blocks)
        self.d = LocalDiscriminator(tuple(config.d_widths))


def refiner_objective(
    nets: SimGANNetworks, v: torch.Tensor, config: Config, adversarial: bool
) -> tuple[dict, torch.Tensor]:
    """The refiner objective's terms and total on one batch, and the refined images."""
    refined = nets.refiner(v)
    losses = {"r_reg": self_regularization_loss(refined, v, config.self_regularization)}
    total = config.lambda_reg * losses["r_reg"]
    if adversarial:
        losses["r_adv"] = gan_generator_loss(nets.d(refined))
        total = losses["r_adv"] + total
    losses["r_total"] = total
    return losses, refined


@register("simgan")
class SimGAN(GANTranslator):
    Config = Config
    log_fields = ("phase", "r_adv", "r_reg", "r_total", "d")
    checkpointed = ("nets", "opt_r", "opt_d", "pool")

    def build(self, device: torch.device, seed: int) -> None:
        cfg = self.config
        self.nets = SimGANNetworks(cfg).to(device)

        def optimizer(net: nn.Module) -> torch.optim.Optimizer:
            if cfg.optimizer == "sgd":
                return torch.optim.SGD(net.parameters(), lr=cfg.lr)
            return torch.optim.Adam(net.parameters(), lr=cfg.lr, betas=(0.5, 0.999))

        self.opt_r, self.opt_d = optimizer(self.nets.refiner), optimizer(self.nets.d)
        self.pool = HistoryPool(cfg.pool_size, seed * 2 + 1)

    def train_step(self, batch: UnpairedBatch, step: int) -> tuple[dict, dict]:
        """One step of the phase ``step`` is in: a refiner step (but in discriminator
        pre-training), then a discriminator step when one is due, on pooled refined images."""
        cfg, v = self.config, batch.v
        phase = cfg.phase(step)
        if phase == "discriminator-pretraining":
            with torch.no_grad(), autocast_for(cfg, v.device):
                refined = self.nets.refiner(v)
            losses = {}
        else:
            losses, refined = self.refiner_step(v, adversarial=phase == "adversarial")
        first_adversarial = cfg.pretrain_refiner_steps + cfg.pretrain_discriminator_steps
        if phase == "discriminator-pretraining" or (
            phase == "adversarial" and (step - first_adversarial + 1) % cfg.refiner_steps_per_d_step == 0
        ):
            losses["d"] = self.discriminator_step(batch.r, refined)
        losses["phase"] = phase
        return losses, {"v": v, "refined": refined, "r": batch.r}

    def refiner_step(self, v: torch.Tensor, adversarial: bool) -> tuple[dict, torch.Tensor]:
        with frozen([self.nets.d]):
            with autocast_for(self.config, v.device):
                losses, refined = refiner_objective(self.nets, v, self.config, adversarial)
            update(self.opt_r, losses["r_total"])
        return losses, refined.detach()

    def discriminator_step(self, r: torch.Tensor, refined: torch.Tensor) -> torch.Tensor:
        """Real frames against refined ones drawn from the history pool."""
        (pooled,) = self.pool.query(refined)
        with autocast_for(self.config, r.device):
            loss = gan_discriminator_loss(self.nets.d(r), self.nets.d(pooled))
        update(self.opt_d, loss)
        return loss

    def sample_rows(self, images: dict) -> list[list[torch.Tensor]]:
        return [[images["v"][0], images["refined"][0], images["r"][0]]]

    def generator_network(self) -> nn.Module:
        return Refiner(self.config.refiner_width, self.config.refiner_blocks)

    def generator_state(self) -> dict[str, torch.Tensor]:
        return self.nets.refiner.state_dict()
