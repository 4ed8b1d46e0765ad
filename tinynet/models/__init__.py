"""Models assembled from tinynet.nn: AlexNet and its variants."""
from tinynet.models.alexnet import VARIANTS, AlexNet, alexnet, min_input_size, parameter_count

__all__ = ["AlexNet", "alexnet", "VARIANTS", "min_input_size", "parameter_count"]
