"""SG-GAN benchmark: translators (SG-GAN and baselines) and the domain data they read."""
