"""tinynet.data: image folders decoded with Pillow, AlexNet's transforms, a parallel loader, a synthetic set.

    ImageFolder(root, transform)       root/<class>/<image>, as torchvision lays it out
    transforms                         Resize, RandomCrop, CenterCrop, RandomHorizontalFlip, ToArray,
                                       Normalize, PCALighting (AlexNet's colour augmentation), TenCrop
    DataLoader(dataset, batch_size)    batches of Tensors (x float32, y int64), seeded shuffling, workers
    TensorDataset, Subset,             datasets made of arrays or of other datasets, as
    ConcatDataset, random_split        torch.utils.data names them
    DistributedSampler(dataset)        this process's share of each epoch among the data-parallel ranks
    DataLoaderError                    a batch the loader could not deliver (a worker died or failed,
                                       a timeout); a RuntimeError
    synth.generate(out, ...)           a small generated classification set written as image files
    CIFAR10, CIFAR100(root, train)     CIFAR as its archives unpack, binary or python version (the pickles
                                       read with NumPy's array globals only, nothing run)
    MNIST, FashionMNIST(root, train)   IDX files, gzipped or not
    DatasetFileError                   a data set's file that is missing or malformed, naming it; a ValueError
    packed.pack(src, out, size=256)    an image folder decoded and resized into memory-mapped shards;
    PackedDataset(out/train, transform)  read back as ImageFolder is (open_packed(out, image_size): both
    is_packed, open_packed             splits with AlexNet's transforms), PackedFormatError for a damaged set

Every random transform draws from a generator passed in per sample, seeded from
(seed, epoch, index), so a run is reproducible whatever the number of workers.
"""
import importlib

from tinynet.data import transforms
from tinynet.data.dataset import ConcatDataset, Dataset, Subset, TensorDataset, random_split
from tinynet.data.cifar import CIFAR10, CIFAR100
from tinynet.data.files import DatasetFileError
from tinynet.data.folder import CorruptImageError, ImageFolder
from tinynet.data.mnist import MNIST, FashionMNIST
from tinynet.data.loader import DataLoader, DataLoaderError
from tinynet.data.packed import PackedDataset, PackedFormatError, is_packed, open_packed
from tinynet.data.sampler import DistributedSampler

__all__ = ["Dataset", "ImageFolder", "CorruptImageError", "DataLoader", "DataLoaderError", "TensorDataset", "Subset",
           "ConcatDataset", "random_split", "transforms", "synth", "PackedDataset", "PackedFormatError", "is_packed",
           "open_packed", "CIFAR10", "CIFAR100", "MNIST", "FashionMNIST", "DatasetFileError", "DistributedSampler"]


def __getattr__(name):
    # tinynet.data.synth is imported on first use, not with the package.
    if name == "synth":
        return importlib.import_module("tinynet.data.synth")
    raise AttributeError(f"module 'tinynet.data' has no attribute {name!r}")
