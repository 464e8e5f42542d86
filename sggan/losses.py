"""SG-GAN's loss terms (paper Sec. 3.1), normalised as the original TensorFlow code does, and the
baselines' (standard GAN cross-entropy, Wasserstein, SimGAN's self-regularisation).

Every term is a plain mean over all elements, so lambda_c = 10 and lambda_g = 5 keep their
meaning: the soft gradient-sensitive term is the mean over the 6 Sobel channels, weighted by
alpha*B + beta and averaged over pixels (images stay in [-1, 1], not rescaled). Patch
discriminators' maps are averaged the same way: each patch is one sample.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# Paper Eq. 8: central differences of the label map (the original code's Cy has the opposite
# sign, which the absolute value makes irrelevant).
BOUNDARY_X = torch.tensor([[0.0, 0.0, 0.0], [-1.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
BOUNDARY_Y = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
SOBEL_Y = SOBEL_X.t().contiguous()


def boundary_mask(labels: torch.Tensor) -> torch.Tensor:
    """Semantic boundaries B: integer label maps (N,H,W) -> float 0/1 (N,1,H,W).

    A pixel is a boundary where the central difference of the label map, in x or y, is nonzero.
    Reflect padding makes the image border no boundary (paper Sec. 4.1).
    """
    if labels.dim() != 3:
        raise ValueError(f"label maps must be (N,H,W), got shape {tuple(labels.shape)}")
    # float32 is exact for label ids below 2**24
    padded = F.pad(labels[:, None].float(), (1, 1, 1, 1), mode="reflect")
    kernels = torch.stack([BOUNDARY_X, BOUNDARY_Y])[:, None].to(padded)
    differences = F.conv2d(padded, kernels)
    return (differences != 0).any(dim=1, keepdim=True).float()


def sobel(images: torch.Tensor) -> torch.Tensor:
    """(N,C,H,W) -> (N,2C,H,W): x and y Sobel responses per channel, zero padding ("SAME")."""
    channels = images.shape[1]
    kernels = torch.stack([SOBEL_X, SOBEL_Y])[:, None].repeat(channels, 1, 1, 1).to(images)
    return F.conv2d(images, kernels, padding=1, groups=channels)


def soft_gradient_loss(
    x: torch.Tensor, y: torch.Tensor, boundary: torch.Tensor, alpha: float, beta: float
) -> torch.Tensor:
    """Paper Eq. 4: || |(|Ci*x| - |Ci*y|)| . (alpha*B + beta) ||, as the mean the original takes."""
    x, y = x.float(), y.float()
    difference = (sobel(x).abs() - sobel(y).abs()).abs().mean(dim=1, keepdim=True)
    return ((alpha * boundary + beta) * difference).mean()


def lsgan_generator_loss(d_fake: torch.Tensor) -> torch.Tensor:
    """Least-squares adversarial term for the generator: the fakes should be judged real (1)."""
    return (d_fake.float() - 1).pow(2).mean()


def lsgan_discriminator_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """(mean((D(real)-1)^2) + mean(D(fake)^2)) / 2, means over the masked-and-summed map."""
    return ((d_real.float() - 1).pow(2).mean() + d_fake.float().pow(2).mean()) / 2


def cycle_loss(x: torch.Tensor, x_cycled: torch.Tensor) -> torch.Tensor:
    """Cycle consistency, paper Eq. 2: mean absolute difference."""
    return (x.float() - x_cycled.float()).abs().mean()


# --------------------------------------------------------------------------------- baselines


def gan_generator_loss(d_fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating GAN term: -log sigmoid(D(fake)), the fakes should be judged real (SimGAN's
    -log(1 - D_refined) with D's output read as the probability of *real*)."""
    logits = d_fake_logits.float()
    return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))


def gan_discriminator_loss(d_real_logits: torch.Tensor, d_fake_logits: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of real (1) and fake (0): -log sigmoid(D(real)) - log(1 - sigmoid(D(fake)))."""
    real, fake = d_real_logits.float(), d_fake_logits.float()
    return F.binary_cross_entropy_with_logits(real, torch.ones_like(real)) + F.binary_cross_entropy_with_logits(
        fake, torch.zeros_like(fake)
    )


def wasserstein_critic_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """WGAN critic: minimise mean D(fake) - mean D(real), the negated Wasserstein estimate."""
    return d_fake.float().mean() - d_real.float().mean()


def wasserstein_generator_loss(d_fake: torch.Tensor) -> torch.Tensor:
    """WGAN generator: -mean D(fake)."""
    return -d_fake.float().mean()


def channel_mean(images: torch.Tensor) -> torch.Tensor:
    """(N,C,H,W) -> (N,1,H,W): each pixel's mean over its colour channels."""
    return images.float().mean(dim=1, keepdim=True)


def self_regularization_loss(
    refined: torch.Tensor, synthetic: torch.Tensor, feature: str = "channel_mean"
) -> torch.Tensor:
    """SimGAN's ||psi(R(x)) - psi(x)||_1, as a mean; psi is the per-pixel mean of the colour
    channels ('channel_mean', SG-GAN's choice) or the identity ('identity', SimGAN's default)."""
    if feature == "channel_mean":
        refined, synthetic = channel_mean(refined), channel_mean(synthetic)
    elif feature != "identity":
        raise ValueError(f"unknown self-regularisation feature {feature!r}; use 'channel_mean' or 'identity'")
    return (refined.float() - synthetic.float()).abs().mean()
