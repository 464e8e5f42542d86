# Report: the paper's qualitative figures (Figs. 4-7), each drawn for the methods that config
# `figures:` names, the translators' loss curves and last sample grids, and the segmentation
# stages' training curves, as PNGs.


rule fig4_translations:
    input:
        frames="results/splits/heldout_source.tsv",
        adapted=adapted_frames(PLAN.figure("fig4_translations")),
    output:
        report("results/figures/fig4_translations.png", caption="../report/fig4.rst", category="Figures"),
    log:
        "logs/report/fig4_translations.log",
    benchmark:
        "results/benchmarks/fig4_translations.tsv"
    params:
        adapted=[f"--adapted={m}={adapted_images(shown(m))}" for m in PLAN.figure("fig4_translations")],
        num=figure_frames(),
    threads: 1
    conda:
        "../envs/sggan.yaml"
    shell:
        '"$PYTHON" -m eval.figures fig4 --frames {input.frames:q} {params.adapted:q} {params.num:q}'
        " --out {output:q} > {log:q} 2>&1"


rule fig5_gradient_zoom:
    input:
        frames="results/splits/heldout_source.tsv",
        adapted=adapted_frames(PLAN.figure("fig5_gradient_zoom")),
    output:
        report("results/figures/fig5_gradient_zoom.png", caption="../report/fig5.rst", category="Figures"),
    log:
        "logs/report/fig5_gradient_zoom.log",
    benchmark:
        "results/benchmarks/fig5_gradient_zoom.tsv"
    params:
        images=[adapted_images(shown(m)) for m in PLAN.figure("fig5_gradient_zoom")],
        num=figure_frames(),
    threads: 1
    conda:
        "../envs/sggan.yaml"
    shell:
        '"$PYTHON" -m eval.figures fig5 --frames {input.frames:q} --with-grad {params.images[0]:q}'
        " --without-grad {params.images[1]:q} {params.num:q} --out {output:q} > {log:q} 2>&1"


rule fig6_discriminator_diff:
    input:
        frames="results/splits/heldout_source.tsv",
        adapted=adapted_frames(PLAN.figure("fig6_discriminator_diff")),
    output:
        report("results/figures/fig6_discriminator_diff.png", caption="../report/fig6.rst", category="Figures"),
    log:
        "logs/report/fig6_discriminator_diff.log",
    benchmark:
        "results/benchmarks/fig6_discriminator_diff.tsv"
    params:
        images=[adapted_images(shown(m)) for m in PLAN.figure("fig6_discriminator_diff")],
        num=figure_frames(),
    threads: 1
    conda:
        "../envs/sggan.yaml"
    shell:
        '"$PYTHON" -m eval.figures fig6 --frames {input.frames:q} --with-sd {params.images[0]:q}'
        " --without-sd {params.images[1]:q} {params.num:q} --out {output:q} > {log:q} 2>&1"


# The score files stand for the predictions: each is written only once every prediction shard is.
rule fig7_segmentation:
    input:
        frames="results/data/cityscapes_val.tsv",
        scores=[scores(m, PLAN.seed) for m in PLAN.figure("fig7_segmentation")],
    output:
        report("results/figures/fig7_segmentation.png", caption="../report/fig7.rst", category="Figures"),
    log:
        "logs/report/fig7_segmentation.log",
    benchmark:
        "results/benchmarks/fig7_segmentation.tsv"
    params:
        predictions=[f"--prediction={m}={predicted_labels(m, PLAN.seed)}" for m in PLAN.figure("fig7_segmentation")],
        num=figure_frames(),
    threads: 1
    conda:
        "../envs/sggan.yaml"
    shell:
        '"$PYTHON" -m eval.figures fig7 --frames {input.frames:q} {params.predictions:q} {params.num:q}'
        " --out {output:q} > {log:q} 2>&1"


# loss_log.csv is written beside the generator by the training (not every external program writes one:
# its panel then says so).
rule loss_curves:
    input:
        [f"results/translators/{shown(m)}/generator.pt" for m in PLAN.trainable],
    output:
        report("results/figures/loss_curves.png", caption="../report/loss_curves.rst", category="Figures"),
    log:
        "logs/report/loss_curves.log",
    benchmark:
        "results/benchmarks/loss_curves.tsv"
    params:
        logs=[f"--log={m}={translator_run(shown(m))}/loss_log.csv" for m in PLAN.trainable],
    threads: 1
    conda:
        "../envs/sggan.yaml"
    shell:
        '"$PYTHON" -m eval.figures loss {params.logs:q} --out {output:q} > {log:q} 2>&1'


# The sample grids the GAN trainings wrote into their run folders (samples/, every sample_every steps):
# the last one of each (the first seed's run).
rule sample_grids:
    input:
        [f"results/translators/{shown(m)}/generator.pt" for m in PLAN.trainable],
    output:
        report("results/figures/sample_grids.png", caption="../report/sample_grids.rst", category="Figures"),
    log:
        "logs/report/sample_grids.log",
    benchmark:
        "results/benchmarks/sample_grids.tsv"
    params:
        runs=[f"--run={m}={translator_run(shown(m))}" for m in PLAN.trainable],
    threads: 1
    conda:
        "../envs/sggan.yaml"
    shell:
        '"$PYTHON" -m eval.figures samples {params.runs:q} --out {output:q} > {log:q} 2>&1'


# Each segmentation stage's train_log.csv, written beside its model.pt (the first seed's runs).
rule segmentation_curves:
    input:
        [
            f"results/segmentation/{m}/seed{PLAN.seed}/{stage}/model.pt"
            for stage in stages.stages(SEGMENTATION)
            for m in PLAN.methods
        ],
    output:
        report(
            "results/figures/segmentation_curves.png", caption="../report/segmentation_curves.rst", category="Figures"
        ),
    log:
        "logs/report/segmentation_curves.log",
    benchmark:
        "results/benchmarks/segmentation_curves.tsv"
    params:
        logs=[
            f"--log={m}/{stage}={segmentation_run(m, PLAN.seed, stage)}/train_log.csv"
            for stage in stages.stages(SEGMENTATION)
            for m in PLAN.methods
        ],
    threads: 1
    conda:
        "../envs/sggan.yaml"
    shell:
        '"$PYTHON" -m eval.figures segmentation {params.logs:q} --out {output:q} > {log:q} 2>&1'
