"""Networks shared by the GAN translators: the U-Net generator and the (semantic-aware) PatchGAN."""
from sggan.models.patchgan import PatchDiscriminator
from sggan.models.unet import UNetGenerator

__all__ = ["PatchDiscriminator", "UNetGenerator"]
