"""SG-GAN loss terms on hand-drawn inputs."""

import math

import numpy as np
import pytest
import torch

from sggan.losses import (
    boundary_mask,
    channel_mean,
    cycle_loss,
    gan_discriminator_loss,
    gan_generator_loss,
    lsgan_discriminator_loss,
    lsgan_generator_loss,
    self_regularization_loss,
    sobel,
    soft_gradient_loss,
    wasserstein_critic_loss,
    wasserstein_generator_loss,
)


def mask_of(rows) -> np.ndarray:
    return boundary_mask(torch.tensor([rows]))[0, 0].numpy().astype(int)


def test_vertical_edge_marks_the_two_columns_beside_it():
    labels = [[7, 7, 7, 9, 9, 9]] * 4  # edge between columns 2 and 3
    expected = [[0, 0, 1, 1, 0, 0]] * 4
    assert mask_of(labels).tolist() == expected


def test_horizontal_edge_marks_the_two_rows_beside_it():
    labels = [[1] * 5, [1] * 5, [2] * 5, [2] * 5, [2] * 5]  # edge between rows 1 and 2
    expected = [[0] * 5, [1] * 5, [1] * 5, [0] * 5, [0] * 5]
    assert mask_of(labels).tolist() == expected


def test_image_border_is_no_boundary():
    assert mask_of([[4] * 5] * 4).sum() == 0
    # reflect padding: an edge between the first two columns marks only column 1, whose
    # neighbours differ; column 0 sees column 1 on both sides
    assert mask_of([[0, 5, 5, 5]] * 3).tolist() == [[0, 1, 0, 0]] * 3


def test_one_pixel_stripe_between_equal_neighbours_is_not_marked_but_its_neighbours_are():
    labels = [[0, 0, 0, 5, 0, 0, 0]] * 3
    assert mask_of(labels).tolist() == [[0, 0, 1, 0, 1, 0, 0]] * 3


def test_single_pixel_blob_marks_its_four_neighbours():
    labels = np.zeros((5, 5), int)
    labels[2, 2] = 3
    expected = np.zeros((5, 5), int)
    expected[[1, 3, 2, 2], [2, 2, 1, 3]] = 1
    assert (mask_of(labels.tolist()) == expected).all()


def numpy_sobel_abs(image: np.ndarray) -> np.ndarray:
    """|Sobel x| and |Sobel y| of each channel, zero padding, written out independently."""
    kx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float)
    ky = kx.T
    channels, height, width = image.shape
    padded = np.pad(image, ((0, 0), (1, 1), (1, 1)))
    out = []
    for c in range(channels):
        for k in (kx, ky):
            response = np.zeros((height, width))
            for i in range(height):
                for j in range(width):
                    response[i, j] = (padded[c, i : i + 3, j : j + 3] * k).sum()
            out.append(np.abs(response))
    return np.stack(out)


def test_soft_gradient_loss_equals_a_hand_computation():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (1, 3, 4, 4))
    y = rng.uniform(-1, 1, (1, 3, 4, 4))
    boundary = np.zeros((1, 1, 4, 4))
    boundary[0, 0, :, 1:3] = 1
    alpha, beta = 0.9, 0.1
    per_pixel = np.abs(numpy_sobel_abs(x[0]) - numpy_sobel_abs(y[0])).mean(axis=0)  # mean of 6 channels
    expected = ((alpha * boundary[0, 0] + beta) * per_pixel).mean()
    got = soft_gradient_loss(
        torch.tensor(x, dtype=torch.float32),
        torch.tensor(y, dtype=torch.float32),
        torch.tensor(boundary, dtype=torch.float32),
        alpha,
        beta,
    )
    assert got.item() == pytest.approx(expected, rel=1e-5)


def test_soft_gradient_loss_only_counts_boundaries_when_beta_is_zero():
    x = torch.zeros(1, 3, 6, 6)
    y = x.clone()
    y[:, :, 0, 0] = 1.0  # changes gradients only near the top-left corner
    far = torch.zeros(1, 1, 6, 6)
    far[..., 4:, 4:] = 1
    near = torch.zeros(1, 1, 6, 6)
    near[..., 0, 1] = 1
    assert soft_gradient_loss(x, y, far, 1.0, 0.0).item() == 0.0
    assert soft_gradient_loss(x, y, near, 1.0, 0.0).item() > 0.0


def test_soft_gradient_loss_is_zero_for_identical_images():
    x = torch.rand(2, 3, 8, 8) * 2 - 1
    boundary = (torch.rand(2, 1, 8, 8) > 0.5).float()
    assert soft_gradient_loss(x, x.clone(), boundary, 0.9, 0.1).item() == 0.0


def test_sobel_channel_layout_is_x_then_y_per_colour():
    image = torch.zeros(1, 3, 5, 5)
    image[0, 1, :, 3:] = 1.0  # vertical edge in the green channel only
    responses = sobel(image)[0, :, 2, 2]
    assert responses.tolist() == [0, 0, 4, 0, 0, 0]


def test_lsgan_and_cycle_terms():
    d_real = torch.tensor([[[[1.0, 0.0]]]])
    d_fake = torch.tensor([[[[0.5, -0.5]]]])
    assert lsgan_generator_loss(d_fake).item() == pytest.approx((0.25 + 2.25) / 2)
    assert lsgan_discriminator_loss(d_real, d_fake).item() == pytest.approx((0.5 + 0.25) / 2)
    x = torch.zeros(1, 3, 2, 2)
    assert cycle_loss(x, x + 0.5).item() == pytest.approx(0.5)


# Mutants that survived the tests above (benchmarks/mutation.py, docs/mutation.md)


def test_soft_gradient_loss_by_hand_on_a_batch_with_a_boundary_of_rows_and_columns():
    # a boundary that varies along rows and columns and two frames: the mean over the six Sobel
    # channels cannot be swapped for a mean over rows, nor the batch broadcast against itself
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (2, 3, 5, 4))
    y = rng.uniform(-1, 1, (2, 3, 5, 4))
    boundary = (rng.random((2, 1, 5, 4)) > 0.5).astype(float)
    alpha, beta = 0.9, 0.1
    expected = np.mean(
        [
            (
                (alpha * boundary[n, 0] + beta) * np.abs(numpy_sobel_abs(x[n]) - numpy_sobel_abs(y[n])).mean(axis=0)
            ).mean()
            for n in range(2)
        ]
    )
    as_tensor = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    got = soft_gradient_loss(as_tensor(x), as_tensor(y), as_tensor(boundary), alpha, beta)
    assert got.item() == pytest.approx(expected, rel=1e-5)


def test_lsgan_and_cycle_terms_on_values_without_symmetry():
    d_fake = torch.tensor([[[[0.5, 2.0]]]])
    assert lsgan_generator_loss(d_fake).item() == pytest.approx((0.25 + 1.0) / 2)
    x = torch.full((1, 3, 2, 2), 0.2)
    assert cycle_loss(x, torch.full_like(x, -0.3)).item() == pytest.approx(0.5)


def test_baseline_gan_terms_by_hand():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    log_sigmoid = lambda v: -math.log1p(math.exp(-v))  # noqa: E731
    assert gan_generator_loss(fake).item() == pytest.approx(-(log_sigmoid(0.5) + log_sigmoid(-3.0)) / 2)
    d_real = -(log_sigmoid(2.0) + log_sigmoid(-1.0)) / 2
    d_fake = -(log_sigmoid(-0.5) + log_sigmoid(3.0)) / 2  # log(1 - sigmoid(v)) = log sigmoid(-v)
    assert gan_discriminator_loss(real, fake).item() == pytest.approx(d_real + d_fake)
    assert wasserstein_critic_loss(real, fake).item() == pytest.approx(-1.25 - 0.5)
    assert wasserstein_generator_loss(fake).item() == pytest.approx(1.25)


def test_self_regularisation_by_hand():
    refined = torch.zeros(1, 3, 1, 2)
    refined[0, :, 0, 0] = torch.tensor([0.3, 0.6, 0.9])  # channel means 0.6 and 0
    synthetic = torch.zeros(1, 3, 1, 2)
    synthetic[0, :, 0, 0] = 0.2
    synthetic[0, 0, 0, 1] = 0.3  # channel means 0.2 and 0.1
    assert channel_mean(refined)[0, 0, 0].tolist() == pytest.approx([0.6, 0.0])
    assert self_regularization_loss(refined, synthetic).item() == pytest.approx((0.4 + 0.1) / 2)
    assert self_regularization_loss(refined, synthetic, "identity").item() == pytest.approx((0.1 + 0.4 + 0.7 + 0.3) / 6)
    with pytest.raises(ValueError, match="unknown self-regularisation feature"):
        self_regularization_loss(refined, synthetic, "vgg")
