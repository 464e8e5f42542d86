# The benchmark's software in a CUDA image: the Kubernetes profile's container-image.
#   docker build --build-arg SGGAN_CODE_VERSION=$(git describe --always --dirty) -t <registry>/sggan-benchmark:<tag> .
# The base brings Python and a CUDA build of torch and torchvision; any pytorch/pytorch tag with
# torch 2.4-2.14 and Python >= 3.11 fits (the tests ran on torch 2.14.1: --build-arg BASE=...).
ARG BASE=pytorch/pytorch:2.7.1-cuda12.8-cudnn9-runtime
FROM ${BASE}

WORKDIR /opt/sggan-benchmark
# the packages first, so a change to the workflow files alone reuses the installed layer
COPY pyproject.toml README.md LICENSE ./
COPY sggan sggan
COPY segmentation segmentation
COPY eval eval
# the base's torch and torchvision satisfy the requirements and stay; [cluster] brings the
# storage plugin the Kubernetes profile's jobs run Snakemake with, [metrics] the standard KID/FID
# network of paper.yaml
RUN pip install --no-cache-dir ".[cluster,metrics]" && python -c "import cv2, torch, torch_fidelity, cityscapesscripts, sggan, segmentation, eval"
COPY Snakefile config.yaml ./
COPY workflow workflow

# A copy without git names its commit this way in every result's provenance (eval/provenance.py).
ARG SGGAN_CODE_VERSION=""
ENV SGGAN_CODE_VERSION=${SGGAN_CODE_VERSION}
