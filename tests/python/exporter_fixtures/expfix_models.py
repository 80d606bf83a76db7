"""Small torch models and objects for the exporter tests."""
import torch
from torch import nn

import expfix_plain


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 2)
        self.register_buffer("scale", torch.arange(2, dtype=torch.float64))
        self.tag = expfix_plain.Plain("tiny")

    def forward(self, x):
        x = torch.relu(self.bn(self.conv(x)))
        x = x.mean(dim=(2, 3))
        return self.fc(x) * self.scale.to(x.dtype)


class SharedTensors(nn.Module):
    def __init__(self):
        super().__init__()
        base = torch.arange(12, dtype=torch.float32)
        self.a = nn.Parameter(base[:6].view(2, 3))
        self.b = base[6:]  # shares the storage of a


class ByPackage:
    """Saved through __reduce_package__: the exporter stores its value as a text resource."""

    def __init__(self, value):
        self.value = value

    def __reduce_package__(self, exporter):
        name = f"by_package_{exporter.get_unique_id()}.txt"
        exporter.save_text("expfix_res", name, self.value)
        return (unpack_by_package, (name,))


def unpack_by_package(importer, name):
    return ByPackage(importer.load_text("expfix_res", name))


def leaf_function(x):
    return x + 1


torch.fx.wrap("leaf_function")


class UsesLeaf(nn.Module):
    def forward(self, x):
        return leaf_function(x) * 2
