"""Evaluation: segmentation metrics, the Cityscapes evaluator, Table 2 and result provenance."""
