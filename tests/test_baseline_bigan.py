"""BiGAN baseline: encoder, generator and joint discriminator, the losses, one step, training, adaptation."""

import math

import pytest
import torch
from conftest import write_frames

from sggan.adaptation import AdaptOptions
from sggan.data.io import image_size, read_image
from sggan.models.bigan import EncodeGenerate, Encoder, Generator, JointDiscriminator
from sggan.training import UnpairedBatch
from sggan.translators import build_translator
from sggan.translators.bigan import BiGANNetworks, Config, encoder_generator_objective, sample_prior

TINY = {
    "epochs": 2,
    "max_iterations_per_epoch": 3,
    "ngf": 4,
    "ndf": 4,
    "depth": 2,
    "code_channels": 3,
    "load_size": [20, 36],
    "crop_size": [16, 32],
    "checkpoint_every": 2,
    "sample_every": 2,
    "workers": 0,
}


def tiny(**changes):
    return Config(**{**{k: tuple(v) if isinstance(v, list) else v for k, v in TINY.items()}, **changes})


def test_shapes_code_map_generated_image_and_joint_scores():
    encoder, generator = Encoder(4, depth=3, code_channels=5), Generator(4, depth=3, code_channels=5)
    d = JointDiscriminator(4, depth=3, code_channels=5)
    x = torch.rand(2, 3, 16, 40) * 2 - 1
    z = encoder(x)
    assert z.shape == (2, 5, 2, 5) and z.abs().max() <= 1  # codes live in the prior's support
    assert generator(z).shape == x.shape
    assert d(x, z).shape == (2, 1, 2, 5)
    assert EncodeGenerate(encoder, generator)(x).shape == x.shape
    with pytest.raises(ValueError, match="multiples of 8"):
        encoder(torch.zeros(1, 3, 12, 40))
    prior = sample_prior(x, Config(depth=3, code_channels=5))
    assert prior.shape == z.shape and -1 <= prior.min() and prior.max() <= 1


def test_encoder_generator_loss_swaps_the_labels_of_the_discriminator_loss():
    torch.manual_seed(0)
    config = tiny()
    m = BiGANNetworks(config).eval()  # no dropout: D is a plain function here
    x, z = torch.rand(1, 3, 16, 32) * 2 - 1, sample_prior(torch.zeros(1, 3, 16, 32), config)
    losses, out = encoder_generator_objective(m, x, z)
    with torch.no_grad():
        data = m.d(x, m.encoder(x)).flatten().tolist()  # should look generated to E, G
        generated = m.d(m.generator(z), z).flatten().tolist()  # should look like data to E, G
    softplus = lambda t: math.log1p(math.exp(t))  # noqa: E731  -log sigmoid(-t) = -log(1 - sigmoid(t))
    expected = sum(softplus(t) for t in data) / len(data) + sum(softplus(-t) for t in generated) / len(generated)
    assert losses["eg"].item() == pytest.approx(expected, rel=1e-5)
    assert torch.equal(out["code"], m.encoder(x))


def test_one_encoder_generator_step_lowers_their_objective_on_a_fixed_batch(built_translator):
    translator = built_translator("bigan", {**TINY, "lr": 1e-4, "weight_decay": 0.0}, seed=3)
    m, config = translator.nets, translator.config
    m.d.eval()  # fixed dropout-free judge for the comparison
    x, z = torch.rand(1, 3, 16, 32) * 2 - 1, sample_prior(torch.zeros(1, 3, 16, 32), config)
    with torch.no_grad():
        before = encoder_generator_objective(m, x, z)[0]["eg"].item()
    d_weights = [p.clone() for p in m.d.parameters()]
    translator.encoder_generator_step(x, z)
    with torch.no_grad():
        after = encoder_generator_objective(m, x, z)[0]["eg"].item()
    assert after < before
    assert all(torch.equal(a, b) for a, b in zip(d_weights, m.d.parameters()))


def test_an_iteration_trains_on_real_frames_only(built_translator):
    a = built_translator("bigan", TINY, seed=4)
    v, r = torch.rand(1, 3, 16, 32) * 2 - 1, torch.rand(1, 3, 16, 32) * 2 - 1
    torch.manual_seed(5)
    losses_a, images = a.train_step(UnpairedBatch(v, None, None, r, None, None), 0)
    assert set(losses_a) == {"eg", "d"} and images["v"] is v

    b = built_translator("bigan", TINY, seed=4)
    torch.manual_seed(5)
    losses_b, _ = b.train_step(UnpairedBatch(-v, None, None, r, None, None), 0)  # another virtual batch
    assert losses_a["eg"].item() == losses_b["eg"].item()
    assert all(torch.equal(x, y) for x, y in zip(a.nets.parameters(), b.nets.parameters()))


def test_training_samples_and_adaptation_encode_then_generate(tmp_path):
    source, target = write_frames(tmp_path / "v", 4, True, 0), write_frames(tmp_path / "r", 5, False, 1)
    run = tmp_path / "run"
    translator = build_translator("bigan", TINY)
    translator.train(source, target, run, torch.device("cpu"), seed=0)
    assert (run / "checkpoint.pt").is_file()
    # v | G(E(v)) ; r | G(E(r)) ; G(z)
    assert read_image(run / "samples" / "step0000006.png").shape == (3 * 16, 2 * 32, 3)
    net = translator.generator(run, torch.device("cpu"))
    assert isinstance(net, EncodeGenerate) and not net.training
    translator.adapt(source, tmp_path / "adapted", run, AdaptOptions(working_size=(16, 32)))
    for frame in source:
        assert image_size(tmp_path / "adapted" / f"{frame.id}.png") == image_size(frame.label)
    assert translator.size_multiple() == 4
    with pytest.raises(ValueError, match="depth: 2 -> 3"):
        build_translator("bigan", {**TINY, "depth": 3}).generator(run, torch.device("cpu"))
