"""What pyproject.toml, the Dockerfile and the conda environment declare agrees with the code and each other."""

import re
import tomllib

import yaml
from conftest import REPO

PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
# distribution name -> the module the code imports, where they differ
IMPORT_NAMES = {"opencv-python-headless": "cv2", "pillow": "PIL", "pyyaml": "yaml"}
# pytest plugins that pytest's settings use rather than a test importing them: the option they add
PLUGIN_OPTIONS = {"pytest-xdist": "--numprocesses"}


def name(requirement: str) -> str:
    return re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement).group(0)


def imported_in(module: str, folders: list[str]) -> bool:
    pattern = re.compile(rf"^\s*(import|from) {re.escape(module)}\b", re.M)
    return any(pattern.search(path.read_text()) for folder in folders for path in (REPO / folder).rglob("*.py"))


def test_mit_license_is_shipped_and_declared():
    assert (REPO / "LICENSE").read_text().startswith("MIT License")
    assert PROJECT["license"] == "MIT" and PROJECT["license-files"] == ["LICENSE"]


def test_version_caps_admit_patch_releases():
    requirements = PROJECT["dependencies"] + [r for extra in PROJECT["optional-dependencies"].values() for r in extra]
    assert not [r for r in requirements if "<=" in r or "==" in r]
    assert "torch>=2.4,<2.15" in PROJECT["dependencies"] and "torchvision>=0.19,<0.30" in PROJECT["dependencies"]


def test_every_dependency_is_imported_by_what_installs_it():
    # snakemake runs the workflow rather than being imported by the packages
    for requirement in PROJECT["dependencies"]:
        if name(requirement) != "snakemake":
            module = IMPORT_NAMES.get(name(requirement), name(requirement))
            assert imported_in(module, ["sggan", "segmentation", "eval"]), f"{requirement}: nothing imports {module}"
    for requirement in (
        PROJECT["optional-dependencies"]["test"]
        + PROJECT["optional-dependencies"]["browser"]
        + PROJECT["optional-dependencies"]["tensorboard"]  # torch.utils.tensorboard imports it; the tests read it
    ):
        if name(requirement) in PLUGIN_OPTIONS:
            addopts = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["addopts"]
            assert PLUGIN_OPTIONS[name(requirement)] in addopts, f"{requirement}: pytest's addopts never use it"
        elif not requirement.startswith("sggan-benchmark"):
            module = IMPORT_NAMES.get(name(requirement), name(requirement))
            assert imported_in(module, ["tests"]), f"{requirement}: no test imports {module}"
    for requirement in PROJECT["optional-dependencies"]["lint"]:  # tools that CI runs rather than imports
        runs = re.search(rf"^{re.escape(name(requirement))} .*check", (REPO / ".ci/run").read_text(), flags=re.M)
        assert runs, f"{requirement}: .ci/run never runs it"


def test_the_test_extra_pulls_in_the_browser_cluster_lint_metrics_and_tensorboard_extras():
    extras = PROJECT["optional-dependencies"]
    assert extras["browser"] == ["playwright>=1.40"]
    assert "sggan-benchmark[cluster,browser,lint,metrics,tensorboard]" in extras["test"]
    assert extras["metrics"] == ["torch-fidelity>=0.4,<0.5"] and imported_in("torch_fidelity", ["eval"])
    assert extras["tensorboard"] == ["tensorboard>=2.16"]
    assert not any(name(r) == "playwright" for r in extras["test"])


def test_conda_environment_installs_this_checkout_with_pyprojects_torch():
    environment = yaml.safe_load((REPO / "workflow/envs/sggan.yaml").read_text())
    conda = environment["dependencies"]
    # no pip section: the rest comes from pyproject.toml, which sggan.post-deploy.sh installs
    assert all(isinstance(d, str) for d in conda) and "pip" in conda
    assert (
        'pip install --no-cache-dir -e "$SGGAN_CHECKOUT[metrics]"'
        in (REPO / "workflow/envs/sggan.post-deploy.sh").read_text()
    )
    for dist, conda_name in (("torch", "pytorch"), ("torchvision", "torchvision")):
        declared = next(r for r in PROJECT["dependencies"] if name(r) == dist)
        assert f"{conda_name}{declared[len(dist) :]}" in conda


def test_dockerfile_copies_every_package_and_names_the_commit():
    dockerfile = (REPO / "Dockerfile").read_text()
    copied = {source for line in re.findall(r"^COPY (.+)$", dockerfile, flags=re.M) for source in line.split()[:-1]}
    for source in copied:
        assert (REPO / source).exists(), source
    packages = {
        p.rstrip("*")
        for p in tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"][
            "include"
        ]
    }
    assert packages <= copied and {"pyproject.toml", "Snakefile", "workflow"} <= copied
    assert 'pip install --no-cache-dir ".[cluster,metrics]"' in dockerfile  # paper.yaml's KID/FID network
    assert re.search(r"^ENV SGGAN_CODE_VERSION=\$\{SGGAN_CODE_VERSION\}$", dockerfile, flags=re.M)
