"""The built-in models, and the hook for any ``torch.nn.Module`` factory.

A factory is ``factory(in_channels, num_classes) -> nn.Module``: a classifier returns logits
(batch, classes); a segmenter returns logits (batch, classes, height, width). Built-ins:

* ``small-cnn``: three conv blocks and a linear head (classification);
* ``resnet-small``: a ResNet-style classifier, basic residual blocks at 32, 64, 128 channels;
* ``unet-small``: a two-level U-Net (segmentation).

Other models: :func:`register_model`, or name any importable factory as ``package.module:name``
(the same string works on every worker, and in the model's STAC Item for ``eotdl predict``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eotdl.errors import InputError

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError:  # pragma: no cover - torch is an extra
    raise InputError(
        "training needs PyTorch", hint="in the eotdl checkout: .venv/bin/pip install -e '.[torch]'"
    ) from None

Factory = Callable[[int, int], nn.Module]


@dataclass(frozen=True)
class ModelEntry:
    """A model the runner can build: its name, factory, tasks and architecture."""

    name: str
    factory: Factory
    tasks: tuple[str, ...]
    architecture: str
    description: str = ""

    def build(self, in_channels: int, num_classes: int) -> nn.Module:
        """A new, randomly initialised model (seed torch first for the same weights)."""
        model = self.factory(in_channels, num_classes)
        if not isinstance(model, nn.Module):
            raise InputError(f"model {self.name!r}: the factory returned {type(model).__name__}")
        return model


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class SmallCNN(nn.Module):
    """Three conv blocks (32, 64, 128 channels, pooled twice) and a linear head."""

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            _block(in_channels, 32),
            nn.MaxPool2d(2),
            _block(32, 64),
            nn.MaxPool2d(2),
            _block(64, 128),
        )
        self.head = nn.Linear(128, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(F.adaptive_avg_pool2d(self.features(x), 1).flatten(1))


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with a residual connection (ResNet's basic block)."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNetSmall(nn.Module):
    """A ResNet-style classifier for small chips: a stem, three stages of two blocks."""

    def __init__(self, in_channels: int, num_classes: int, widths: tuple[int, ...] = (32, 64, 128)):
        super().__init__()
        self.stem = _block(in_channels, widths[0])
        layers: list[nn.Module] = []
        cin = widths[0]
        for index, width in enumerate(widths):
            stride = 1 if index == 0 else 2
            layers += [BasicBlock(cin, width, stride), BasicBlock(width, width)]
            cin = width
        self.layers = nn.Sequential(*layers)
        self.head = nn.Linear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.layers(self.stem(x))
        return self.head(F.adaptive_avg_pool2d(out, 1).flatten(1))


class UNetSmall(nn.Module):
    """A two-level U-Net: per-pixel logits at the input's size (any size, padded inside)."""

    def __init__(self, in_channels: int, num_classes: int, width: int = 16) -> None:
        super().__init__()
        self.down0 = nn.Sequential(_block(in_channels, width), _block(width, width))
        self.down1 = nn.Sequential(_block(width, 2 * width), _block(2 * width, 2 * width))
        self.bottom = nn.Sequential(_block(2 * width, 4 * width), _block(4 * width, 4 * width))
        self.up1 = nn.ConvTranspose2d(4 * width, 2 * width, 2, stride=2)
        self.dec1 = nn.Sequential(_block(4 * width, 2 * width), _block(2 * width, 2 * width))
        self.up0 = nn.ConvTranspose2d(2 * width, width, 2, stride=2)
        self.dec0 = nn.Sequential(_block(2 * width, width), _block(width, width))
        self.head = nn.Conv2d(width, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows, cols = x.shape[-2:]
        pad_r, pad_c = (-rows) % 4, (-cols) % 4
        if pad_r or pad_c:
            x = F.pad(x, (0, pad_c, 0, pad_r), mode="replicate")
        s0 = self.down0(x)
        s1 = self.down1(F.max_pool2d(s0, 2))
        bottom = self.bottom(F.max_pool2d(s1, 2))
        d1 = self.dec1(torch.cat([self.up1(bottom), s1], dim=1))
        d0 = self.dec0(torch.cat([self.up0(d1), s0], dim=1))
        return self.head(d0)[..., :rows, :cols]


MODELS: dict[str, ModelEntry] = {}


def register_model(
    name: str,
    factory: Factory,
    *,
    tasks: tuple[str, ...] | list[str],
    architecture: str,
    description: str = "",
) -> ModelEntry:
    """Add a model under ``name`` (an error if the name is taken)."""
    if name in MODELS:
        raise InputError(f"a model named {name!r} is already registered")
    entry = ModelEntry(name, factory, tuple(tasks), architecture, description)
    MODELS[name] = entry
    return entry


register_model(
    "small-cnn",
    SmallCNN,
    tasks=("classification",),
    architecture="CNN",
    description="three conv blocks and a linear head",
)
register_model(
    "resnet-small",
    ResNetSmall,
    tasks=("classification",),
    architecture="ResNet",
    description="ResNet-style: three stages of two basic blocks",
)
register_model(
    "unet-small",
    UNetSmall,
    tasks=("segmentation",),
    architecture="U-Net",
    description="a two-level U-Net",
)

DEFAULT_MODELS = {"classification": "small-cnn", "segmentation": "unet-small"}


def factory_name(factory: Callable[..., Any]) -> str:
    """``module:qualname`` of a factory (what the spec and the model's Item record)."""
    module = getattr(factory, "__module__", None) or "__main__"
    qualname = getattr(factory, "__qualname__", None) or type(factory).__name__
    return f"{module}:{qualname}"


def resolve_model(model: str | Factory | None, task: str) -> ModelEntry:
    """The entry for a built-in name, a ``module:factory`` string, or a factory itself."""
    if model is None:
        model = DEFAULT_MODELS[task]
    if callable(model):
        return ModelEntry(factory_name(model), model, (task,), _architecture(model))
    if model in MODELS:
        entry = MODELS[model]
        if task not in entry.tasks:
            fits = [n for n, e in MODELS.items() if task in e.tasks]
            raise InputError(
                f"model {model!r} is for {', '.join(entry.tasks)}, not {task}",
                hint=f"models for {task}: {', '.join(fits)}",
            )
        return entry
    if ":" in model:
        return ModelEntry(model, import_factory(model), (task,), _architecture(model))
    raise InputError(
        f"unknown model {model!r}",
        hint=f"built-in: {', '.join(sorted(MODELS))}; or any factory as package.module:name",
    )


def import_factory(target: str) -> Factory:
    """The factory named ``package.module:attribute``."""
    module_name, _, attribute = target.partition(":")
    try:
        found: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError) as exc:
        raise InputError(
            f"cannot import the model factory {target!r}: {exc}",
            hint="name an importable callable as package.module:name",
        ) from None
    if not callable(found):
        raise InputError(f"{target!r} is not callable")
    return found


def _architecture(model: str | Callable[..., Any]) -> str:
    name = model.rsplit(":", 1)[-1] if isinstance(model, str) else getattr(model, "__name__", "")
    return name.rsplit(".", 1)[-1] or "custom"


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
