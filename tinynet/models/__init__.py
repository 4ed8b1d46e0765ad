"""Models assembled from tinynet.nn: AlexNet and its variants."""
from tinynet.models.alexnet import VARIANTS, AlexNet, alexnet

__all__ = ["AlexNet", "alexnet", "VARIANTS"]
