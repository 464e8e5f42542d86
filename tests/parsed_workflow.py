"""Prints the workflow as Snakemake parses it, as JSON: run as a script, since parsing changes the
working directory and Snakemake's shell settings for the whole process.

    python tests/parsed_workflow.py WORKDIR [DEPLOYMENT_METHOD ...]
"""

import json
import os
import sys
from pathlib import Path

from snakemake.api import SnakemakeApi
from snakemake.settings.types import DeploymentMethod, DeploymentSettings, OutputSettings, ResourceSettings
from snakemake.shell import shell

REPO = Path(__file__).resolve().parents[1]


def rule_summary(rule) -> dict:
    return {
        "shell": rule.shellcmd is not None,
        "command": rule.shellcmd,
        "log": [str(path) for path in rule.log],
        "output_wildcards": sorted(rule.wildcard_names),
        "benchmark": rule.benchmark and str(rule.benchmark),
        "benchmark_wildcards": sorted(rule.benchmark.get_wildcard_names()) if rule.benchmark else [],
        # a rule's conda: path is relative to the file that defines the rule
        "container": rule.container_img,
        "conda": rule.conda_env and str((Path(rule.snakefile).parent / rule.conda_env).resolve()),
    }


def main(workdir: str, *methods: str) -> None:
    deployment = DeploymentSettings(deployment_method={DeploymentMethod[m.upper()] for m in methods})
    with SnakemakeApi(OutputSettings()) as api:
        workflow_api = api.workflow(
            ResourceSettings(cores=1),
            snakefile=REPO / "Snakefile",
            workdir=Path(workdir),
            deployment_settings=deployment,
        )
        rules = {rule.name: rule_summary(rule) for rule in workflow_api._workflow.rules}
        print(
            json.dumps({"prefix": shell._process_prefix, "checkout": os.environ.get("SGGAN_CHECKOUT"), "rules": rules})
        )


if __name__ == "__main__":
    main(*sys.argv[1:])
