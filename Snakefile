# SG-GAN benchmark: GTA-V -> Cityscapes adaptation, dilated segmentation, Tables 1 and 2, figures.
# Wiring only: the stages live in workflow/rules/*.smk, the work in the Python packages.
import os
import shlex
import sys

import yaml
from snakemake.exceptions import WorkflowError
from snakemake.settings.types import DeploymentMethod
from snakemake.utils import min_version, validate

from segmentation import stages
from sggan.cli import UserError
from sggan.workflow_config import read_config, schema_error_line, typed_from_command_line

min_version("8.20")


# The embedded toy world, unless config files are given on the command line: a --configfile
# then replaces it whole rather than being merged into the toy settings.
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


# `--config seeds=[0,1,2]` reaches the config as strings inside the list: typed as the schema says.
SCHEMA = yaml.safe_load(open(workflow.source_path("workflow/schemas/config.schema.yaml")))
config.update(typed_from_command_line(dict(config), SCHEMA, SCHEMA.get("$defs", {})))
# A value of the wrong type or out of range: Snakemake's validation message is many lines of
# schema dump; the user sees the first, which names the key and the value.
try:
    validate(config, "workflow/schemas/config.schema.yaml")
except WorkflowError as err:
    print(f"error: config: {schema_error_line(err)}", file=sys.stderr)
    sys.exit(2)
# What the schema cannot check (models, parameters, the methods each figure and study pair names,
# the stages' settings, the data roots), before any job starts: one line naming the key.
try:
    PLAN = read_config(config)
    stages.check_block(config["segmentation"])
except UserError as err:
    print(f"error: {err}", file=sys.stderr)
    sys.exit(2)


# The Dockerfile's image, pushed by the user (config `container:`): every job runs in it under
# --software-deployment-method apptainer.
if config.get("container"):

    container: config["container"]


# Jobs run the interpreter that runs Snakemake (and its packages), whatever the shell's PATH holds;
# with --software-deployment-method conda, the `python` of the rules' environment, into which
# workflow/envs/sggan.post-deploy.sh installs the checkout named here (a value this process sets for
# that script, not one the user must provide, hence no envvars: directive); with apptainer, the
# image's `python`, which has the project installed.
DEPLOYED = {DeploymentMethod.CONDA, DeploymentMethod.APPTAINER} & set(workflow.deployment_settings.deployment_method)
if DEPLOYED:
    PYTHON = "python"
    os.environ.update(SGGAN_CHECKOUT=workflow.basedir)
else:
    PYTHON = shlex.quote(sys.executable).replace("{", "{{").replace("}", "}}")  # braces are Snakemake's
shell.prefix(f"set -euo pipefail; PYTHON={PYTHON}; ")


report: "workflow/report/workflow.rst"


scattergather:
    adapt=config["adaptation"].get("shards", 1),
    predict=config["segmentation"].get("predict_shards", 1),


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/translate.smk"
include: "workflow/rules/adapt.smk"
include: "workflow/rules/segment.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/study.smk"
include: "workflow/rules/report.smk"


# Jobs of a second or less: on a cluster they run where Snakemake runs rather than wait for a node.
localrules:
    all,
    provenance,
    table1,
    table2,
    translator_quality,


# the default target, so `snakemake --cores 8 --configfile FILE` needs no target name after the
# configfile (which would read it as a second config file)
rule all:
    default_target: True
    input:
        "results/tables/table2.csv",
        "results/tables/table2.md",
        "results/tables/translator_quality.csv",
        "results/tables/translator_quality.md",
        study_tables(),
        report_figures(),
