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

import contextlib
import dataclasses
import sys
import time
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from sggan.data.io import Frame
from sggan.data.labels import group_lut
from sggan.losses import (boundary_mask, cycle_loss, lsgan_discriminator_loss, lsgan_generator_loss,
                          soft_gradient_loss)
from sggan.models import PatchDiscriminator, UNetGenerator
from sggan.training import (HistoryPool, LossLog, UnpairedCrops, atomic_torch_save, capture_rng_states,
                            epoch_loader, epoch_order, load_checkpoint, restore_rng_states, seed_everything,
                            set_requires_grad, write_sample_grid)
from sggan.translators import register
from sggan.translators.base import Translator

LOSS_FIELDS = ["epoch", "iteration", "step", "alpha", "beta", "g_adv_r", "g_adv_v", "cycle_v", "cycle_r",
               "grad_v", "grad_r", "g_total", "d_r", "d_v", "seconds"]
# Config fields that may change when a run resumes; any other change makes the checkpoint stale.
RESUMABLE_CHANGES = {"epochs", "checkpoint_every", "sample_every", "workers", "max_iterations_per_epoch"}


@dataclasses.dataclass
class Config:
    epochs: int = 25
    lambda_cycle: float = 10.0
    lambda_grad: float = 5.0
    alpha_beta_switch_epoch: int = 3         # (alpha, beta) = early before this epoch, late from it
    alpha_beta_early: tuple[float, float] = (1.0, 0.0)
    alpha_beta_late: tuple[float, float] = (0.9, 0.1)
    lr: float = 2e-4
    beta1: float = 0.5
    batch_size: int = 1
    # Frames are resized to load_size (H, W), then randomly cropped to crop_size. The original
    # resizes every frame straight to 256x512 with no crop: load_size == crop_size.
    load_size: tuple[int, int] = (256, 512)
    crop_size: tuple[int, int] = (256, 512)
    flip: bool = True
    pool_size: int = 50
    ngf: int = 64
    ndf: int = 64
    generator_depth: int = 8
    semantic_discriminator: bool = True
    use_gradient_loss: bool = True
    grouping: str = "sggan"                  # 'sggan' (8 groups of the original) or 'cityscapes'
    checkpoint_every: int = 500              # iterations
    sample_every: int = 100                  # iterations; the original samples every 100
    max_iterations_per_epoch: int | None = None
    workers: int = 2                         # DataLoader workers
    amp: bool = False                        # bf16 autocast on CUDA (the original trains in fp32)

    def __post_init__(self):
        multiple = 2 ** self.generator_depth
        if self.crop_size[0] % multiple or self.crop_size[1] % multiple:
            raise ValueError(f"sggan: crop_size {list(self.crop_size)} must be a multiple of "
                             f"2**generator_depth = {multiple} on both sides")
        if self.crop_size[0] > self.load_size[0] or self.crop_size[1] > self.load_size[1]:
            raise ValueError(f"sggan: crop_size {list(self.crop_size)} exceeds load_size {list(self.load_size)}")
        for name in ("alpha_beta_early", "alpha_beta_late"):
            alpha, beta = getattr(self, name)
            if alpha < 0 or beta < 0:
                raise ValueError(f"sggan: {name} must be non-negative, got {[alpha, beta]}")
        for name in ("epochs", "batch_size", "checkpoint_every", "sample_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"sggan: {name} must be at least 1")

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
    def adam(nets):
        return torch.optim.Adam([p for net in nets for p in net.parameters()], lr=config.lr,
                                betas=(config.beta1, 0.999))
    return adam(m.generators()), adam(m.discriminators())


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


def train_iteration(m: SGGANModels, opt_g, opt_d, pool_r: HistoryPool, pool_v: HistoryPool, batch,
                    alpha: float, beta: float, config: Config, device: torch.device) -> tuple[dict, dict]:
    """One SG-GAN iteration: the G step, then the D step on pooled fakes. Returns losses, images."""
    v, v_labels, v_mask, r, r_labels, r_mask = (t.to(device, non_blocking=True) for t in batch)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if config.amp and device.type == "cuda" \
        else contextlib.nullcontext()
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
        path = Path(run_dir) / "generator.pt"
        if not path.is_file():
            raise FileNotFoundError(f"{path} does not exist: train the sggan translator into {run_dir} first")
        saved = torch.load(path, map_location=device, weights_only=True)
        trained = saved["config"]
        if trained["generator_depth"] != self.config.generator_depth:
            raise ValueError(f"{path} holds a U-Net of depth {trained['generator_depth']}, the config asks for "
                             f"{self.config.generator_depth}; use the parameters it was trained with")
        net = UNetGenerator(trained["ngf"], trained["generator_depth"])
        net.load_state_dict(saved["state_dict"])
        return net.to(device).eval()

    def train(self, source: list[Frame], target: list[Frame], run_dir: Path, device: torch.device,
              seed: int) -> None:
        cfg = self.config
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        if (run_dir / "generator.pt").exists():
            print(f"sggan: {run_dir / 'generator.pt'} exists, training is complete", file=sys.stderr)
            return
        iterations = min(len(source), len(target)) // cfg.batch_size
        if cfg.max_iterations_per_epoch:
            iterations = min(iterations, cfg.max_iterations_per_epoch)
        if iterations < 1:
            raise ValueError(f"sggan: {len(source)} source and {len(target)} target frames are fewer than "
                             f"one batch of {cfg.batch_size}")

        seed_everything(seed)
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed crop size: let cuDNN pick the fastest kernels
        lut, group_names = group_lut(cfg.grouping)
        models = SGGANModels(cfg, len(group_names)).to(device)
        opt_g, opt_d = build_optimizers(models, cfg)
        pool_r, pool_v = HistoryPool(cfg.pool_size, seed * 2 + 1), HistoryPool(cfg.pool_size, seed * 2 + 2)
        state = {"epoch": 0, "iteration": 0, "step": 0, "seconds": 0.0,
                 "order_v": epoch_order(len(source), seed, 0, 0), "order_r": epoch_order(len(target), seed, 0, 1)}

        checkpoint_path = run_dir / "checkpoint.pt"
        resumed = checkpoint_path.exists()
        if resumed:
            checkpoint = load_checkpoint(checkpoint_path, device)
            self._check_resumable(checkpoint, seed, len(source), len(target), checkpoint_path)
            models.load_state_dict(checkpoint["models"])
            opt_g.load_state_dict(checkpoint["opt_g"])
            opt_d.load_state_dict(checkpoint["opt_d"])
            pool_r.load_state_dict(checkpoint["pool_r"], device)
            pool_v.load_state_dict(checkpoint["pool_v"], device)
            state = {k: checkpoint[k] for k in state}
            restore_rng_states(checkpoint["rng"])
            print(f"sggan: resuming {run_dir} at epoch {state['epoch'] + 1}, iteration {state['iteration']}",
                  file=sys.stderr)

        def save_checkpoint() -> None:
            atomic_torch_save({"models": models.state_dict(), "opt_g": opt_g.state_dict(),
                               "opt_d": opt_d.state_dict(), "pool_r": pool_r.state_dict(),
                               "pool_v": pool_v.state_dict(), **state, "rng": capture_rng_states(),
                               "config": dataclasses.asdict(cfg), "seed": seed,
                               "frames": [len(source), len(target)]}, checkpoint_path)

        dataset = UnpairedCrops(source, target, cfg.load_size, cfg.crop_size, cfg.flip, lut, len(group_names), seed)
        log = LossLog(run_dir / "loss_log.csv", LOSS_FIELDS, resume_step=state["step"] if resumed else None)
        models.train()
        try:
            while state["epoch"] < cfg.epochs:
                epoch = state["epoch"]
                alpha, beta = cfg.alpha_beta(epoch)
                dataset.set_epoch(epoch, state["order_v"], state["order_r"])
                loader = epoch_loader(dataset, state["iteration"], iterations, cfg.batch_size, cfg.workers,
                                      device.type == "cuda", seed)
                progress = tqdm(loader, initial=state["iteration"], total=iterations, file=sys.stderr,
                                desc=f"sggan epoch {epoch + 1}/{cfg.epochs}", unit="it")
                last = time.perf_counter()
                for batch in progress:
                    losses, images = train_iteration(models, opt_g, opt_d, pool_r, pool_v, batch, alpha, beta,
                                                     cfg, device)
                    # one device sync for all the terms, before the clock is read
                    values = dict(zip(losses, torch.stack([t.detach().float() for t in losses.values()]).tolist()))
                    now = time.perf_counter()
                    state["iteration"] += 1
                    state["step"] += 1
                    state["seconds"] += now - last
                    last = now
                    log.write({"epoch": epoch, "iteration": state["iteration"], "step": state["step"],
                               "alpha": alpha, "beta": beta, **values, "seconds": round(state["seconds"], 3)})
                    progress.set_postfix(g=f"{values['g_total']:.3f}", d_r=f"{values['d_r']:.3f}",
                                         d_v=f"{values['d_v']:.3f}", refresh=False)
                    if state["step"] % cfg.sample_every == 0:
                        write_sample_grid(run_dir / "samples" / f"step{state['step']:07d}.png",
                                          [[images["v"][0], images["fake_r"][0], images["cycled_v"][0]],
                                           [images["r"][0], images["fake_v"][0], images["cycled_r"][0]]])
                    if state["step"] % cfg.checkpoint_every == 0 and state["iteration"] < iterations:
                        save_checkpoint()
                progress.close()
                # next epoch: both lists reshuffled
                state.update(epoch=epoch + 1, iteration=0,
                             order_v=epoch_order(len(source), seed, epoch + 1, 0),
                             order_r=epoch_order(len(target), seed, epoch + 1, 1))
                save_checkpoint()
        finally:
            log.close()
        atomic_torch_save({"state_dict": models.g_vr.state_dict(), "config": dataclasses.asdict(cfg)},
                          run_dir / "generator.pt")

    def _check_resumable(self, checkpoint: dict, seed: int, num_source: int, num_target: int, path: Path) -> None:
        saved = checkpoint["config"]
        now = dataclasses.asdict(self.config)
        changed = sorted(k for k in now if k not in RESUMABLE_CHANGES and saved.get(k) != now[k])
        problems = [f"{k}: {saved.get(k)!r} -> {now[k]!r}" for k in changed]
        if checkpoint["seed"] != seed:
            problems.append(f"seed: {checkpoint['seed']} -> {seed}")
        if checkpoint["frames"] != [num_source, num_target]:
            problems.append(f"frames (source, target): {checkpoint['frames']} -> {[num_source, num_target]}")
        if problems:
            raise ValueError(f"{path} was written by a different training setup ({'; '.join(problems)}); "
                             "delete the run folder to start over, or restore the old settings to resume")
