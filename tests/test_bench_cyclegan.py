"""benchmarks/bench_cyclegan.py on tiny networks: its FLOP count and its table of layers."""

import torch

from benchmarks.bench_cyclegan import GENERATOR_USES, iteration_flops, layer_table

TINY = {"cyclegan": {"ngf": 4, "ndf": 4, "blocks": 2}, "sggan": {"ngf": 4, "ndf": 4, "generator_depth": 5}}


def params(name, size):
    return {"load_size": size, "crop_size": size, **TINY[name]}


def test_iteration_flops_grow_with_the_pixels():
    for name in TINY:
        flops = [iteration_flops(name, params(name, size)) for size in ([32, 64], [64, 128])]
        assert flops[0] > 0
        if name == "cyclegan":  # the reference PatchGAN's padding-1 4x4 convolutions add a border row and column
            assert 4 * flops[0] < flops[1] < 4.1 * flops[0]
        else:  # the U-Net's 1x1 bottleneck does not grow
            assert 3.5 * flops[0] < flops[1] <= 4 * flops[0]
    # with SAME-padded discriminators every convolution's output has the input's pixels over a fixed factor
    same = [
        iteration_flops("cyclegan", {**params("cyclegan", size), "discriminator": "sggan"})
        for size in ([32, 64], [64, 128])
    ]
    assert same[1] == 4 * same[0]


def test_layer_table_counts_each_layer_per_iteration():
    rows = {row["layer"]: row for row in layer_table(params("cyclegan", [32, 64]), torch.device("cpu"), repeats=1)}
    residual = rows["Conv2d 3x3/1 16->16 @10x18"]  # 4 ngf channels at a quarter of the size, padded by 1
    assert residual["uses"] == 2 * 2 * GENERATOR_USES  # two convolutions in each of the two blocks
    assert residual["tflops"] > 0 and residual["ms_per_iteration"] > 0
    assert abs(sum(row["share"] for row in rows.values()) - 1) < 1e-9
