"""Networks shared by the GAN translators: the U-Net generator, the (semantic-aware) PatchGAN,
and the reference CycleGAN code's 70x70 PatchGAN."""

from sggan.models.cyclegan_patchgan import CycleGANPatchDiscriminator
from sggan.models.patchgan import PatchDiscriminator
from sggan.models.unet import UNetGenerator

__all__ = ["CycleGANPatchDiscriminator", "PatchDiscriminator", "UNetGenerator"]
