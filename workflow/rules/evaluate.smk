# Evaluation: scores per method against the target's val labels, provenance, Table 2.


# The evaluator checks that every val frame has exactly one prediction: the shards' gather.
rule evaluate:
    input:
        shards=gather.predict("results/predictions/{{method}}/shards/{scatteritem}.tsv"),
        ground_truth=toy_output("cityscapes"),
    output:
        "results/scores/{method}.json",
    log:
        "logs/evaluate/{method}.log",
    params:
        predictions="results/predictions/{method}/labels",
        ground_truth=f"{CITYSCAPES_ROOT}/gtFine/val",
    threads: config.get("evaluation", {}).get("workers", 2)
    resources:
        mem_mb=job_resource("evaluate", "mem_mb"),
        runtime=job_resource("evaluate", "runtime"),
    shell:
        "python -m eval.evaluate --predictions {params.predictions} --ground-truth {params.ground_truth}"
        " --out {output} --workers {threads} 2> {log}"


rule provenance:
    output:
        report("results/provenance.json", caption="../report/provenance.rst", category="Provenance"),
    log:
        "logs/evaluate/provenance.log",
    params:
        config=lambda wildcards: json.dumps(config, sort_keys=True),
        config_files=" ".join(map(str, workflow.configfiles)),
    threads: 1
    shell:
        "python -m eval.provenance --config-json {params.config:q} --seed {SEED}"
        " --config-file {params.config_files} --out {output} 2> {log}"


rule table2:
    input:
        scores=expand("results/scores/{method}.json", method=METHODS),
        provenance="results/provenance.json",
    output:
        csv=report("results/tables/table2.csv", caption="../report/table2.rst", category="Tables"),
        md="results/tables/table2.md",
    log:
        "logs/evaluate/table2.log",
    params:
        scores=" ".join(f"--score {m}=results/scores/{m}.json" for m in METHODS),
    threads: 1
    shell:
        "python -m eval.table2 {params.scores} --out-csv {output.csv} --out-md {output.md}"
        " --provenance {input.provenance} 2> {log}"
