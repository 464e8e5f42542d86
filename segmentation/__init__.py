"""Yu & Koltun's dilated segmentation network (Dilation10 for Cityscapes), used to score translators.

- :mod:`segmentation.frontend`: the VGG-16-based front-end, its size arithmetic, the reflect margin
- :mod:`segmentation.context`: the context module (identity-initialised) and the fixed x8 upsampling
- :mod:`segmentation.model`: the whole network (``frontend`` or ``dilation10``), full-frame and tiled inference
- :mod:`segmentation.vgg_init`: torchvision's ImageNet VGG-16 weights mapped onto the front-end
- :mod:`segmentation.data`: training crops (with the 186-pixel margin), dumped scores, normalisation
- :mod:`segmentation.class_stats`: ``python -m segmentation.class_stats``, per-class pixel statistics
- :mod:`segmentation.train`: ``python -m segmentation.train``, one resumable training stage
- :mod:`segmentation.stages`: each stage's settings from the workflow config (TrainConfig's defaults)
- :mod:`segmentation.dump`: ``python -m segmentation.dump``, the front-end's scores for the context stage
- :mod:`segmentation.predict`: ``python -m segmentation.predict``, Cityscapes label-id PNGs
- :mod:`segmentation.distributed`, :mod:`segmentation.throughput`: torchrun data parallelism, FLOPs and MFU
"""
