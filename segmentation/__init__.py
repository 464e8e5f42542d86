"""The dilated segmentation network of Yu & Koltun ("Dilation"), used to score translators.

- :mod:`segmentation.frontend`: the VGG-16-based front-end, its size arithmetic, whole-frame inference
- :mod:`segmentation.data`: training crops (with the network's 186-pixel margin) and normalisation
- :mod:`segmentation.train`: ``python -m segmentation.train``, resumable training into a run folder
- :mod:`segmentation.predict`: ``python -m segmentation.predict``, Cityscapes label-id PNGs
"""
