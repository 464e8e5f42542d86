"""Datasets: label tables, readers for GTA-V and Cityscapes, frame lists, the toy world."""
