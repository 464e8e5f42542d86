# Report: the paper's qualitative figures (Figs. 4-7) and the translators' loss curves, as PNGs.
# `all` asks only for those whose methods are configured (report_figures in common.smk).


rule fig4_translations:
    input:
        frames="results/splits/heldout_source.tsv",
        adapted=adapted_frames(SHOWN_TRANSLATORS),
    output:
        report("results/figures/fig4_translations.png", caption="../report/fig4.rst", category="Figures"),
    log:
        "logs/report/fig4_translations.log",
    params:
        adapted=" ".join(f"--adapted {m}={adapted_images(m)}" for m in SHOWN_TRANSLATORS),
        num=FIGURE_NUM_FRAMES,
    threads: 1
    shell:
        "python -m eval.figures fig4 --frames {input.frames} {params.adapted} --num {params.num}"
        " --out {output} 2> {log}"


rule fig5_gradient_zoom:
    input:
        frames="results/splits/heldout_source.tsv",
        adapted=adapted_frames(["sggan-2k", "sggan-2k-no-grad"]),
    output:
        report("results/figures/fig5_gradient_zoom.png", caption="../report/fig5.rst", category="Figures"),
    log:
        "logs/report/fig5_gradient_zoom.log",
    params:
        with_grad=adapted_images("sggan-2k"),
        without_grad=adapted_images("sggan-2k-no-grad"),
        num=FIGURE_NUM_FRAMES,
    threads: 1
    shell:
        "python -m eval.figures fig5 --frames {input.frames} --with-grad {params.with_grad}"
        " --without-grad {params.without_grad} --num {params.num} --out {output} 2> {log}"


rule fig6_discriminator_diff:
    input:
        frames="results/splits/heldout_source.tsv",
        adapted=adapted_frames(["sggan-2k", "sggan-2k-no-sd"]),
    output:
        report("results/figures/fig6_discriminator_diff.png", caption="../report/fig6.rst", category="Figures"),
    log:
        "logs/report/fig6_discriminator_diff.log",
    params:
        with_sd=adapted_images("sggan-2k"),
        without_sd=adapted_images("sggan-2k-no-sd"),
        num=FIGURE_NUM_FRAMES,
    threads: 1
    shell:
        "python -m eval.figures fig6 --frames {input.frames} --with-sd {params.with_sd}"
        " --without-sd {params.without_sd} --num {params.num} --out {output} 2> {log}"


# The score files stand for the predictions: each is written only once every prediction shard is.
rule fig7_segmentation:
    input:
        frames="results/data/cityscapes_val.tsv",
        scores=[f"results/scores/{m}.json" for m in ("source-only", BEST_SGGAN) if m],
    output:
        report("results/figures/fig7_segmentation.png", caption="../report/fig7.rst", category="Figures"),
    log:
        "logs/report/fig7_segmentation.log",
    params:
        predictions=" ".join(f"--prediction {m}={shared(f'results/predictions/{m}/labels')}"
                             for m in ("source-only", BEST_SGGAN) if m),
        num=FIGURE_NUM_FRAMES,
    threads: 1
    shell:
        "python -m eval.figures fig7 --frames {input.frames} {params.predictions} --num {params.num}"
        " --out {output} 2> {log}"


# loss_log.csv is written beside the generator by the training (not every external program writes one:
# its panel then says so).
rule loss_curves:
    input:
        [f"results/translators/{m}/generator.pt" for m in TRAINABLE],
    output:
        report("results/figures/loss_curves.png", caption="../report/loss_curves.rst", category="Figures"),
    log:
        "logs/report/loss_curves.log",
    params:
        logs=" ".join(f"--log {m}={shared(f'results/translators/{m}/loss_log.csv')}" for m in TRAINABLE),
    threads: 1
    shell:
        "python -m eval.figures loss {params.logs} --out {output} 2> {log}"
