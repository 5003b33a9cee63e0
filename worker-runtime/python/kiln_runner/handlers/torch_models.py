"""Small PyTorch architectures for tabular rows, rebuilt from the spec in meta.json.

Transformer-style model types (bert, gpt2, t5, vit, …) get a small transformer
encoder trained from scratch, each feature one token; nothing is downloaded.
"""
import torch
from torch import nn

from ..errors import InputError
from . import bounds

ARCH_BY_MODEL = {
    "mlp": "mlp",
    "transformer": "transformer", "bert": "transformer", "distilbert": "transformer", "roberta": "transformer",
    "gpt2": "transformer", "t5": "transformer", "bart": "transformer", "llama": "transformer", "vit": "transformer",
    "cnn": "conv1d", "resnet": "conv1d", "efficientnet": "conv1d", "unet": "conv1d", "yolo": "conv1d",
    "lstm": "lstm",
}


def arch_for(model_type):
    if model_type not in ARCH_BY_MODEL:
        raise InputError(f"unknown PyTorch model_type {model_type!r}; one of {', '.join(sorted(ARCH_BY_MODEL))}")
    return ARCH_BY_MODEL[model_type]


def _int(hp, key, default):
    bounds.check({key: hp.get(key)})  # make_spec may be called with unchecked hyperparameters
    return bounds.get(hp, key, default)


def make_spec(arch, n_features, n_outputs, hp):
    """The architecture description saved in meta.json."""
    spec = {"arch": arch, "n_features": n_features, "n_outputs": n_outputs}
    if arch == "mlp":
        bounds.check({"hidden_sizes": hp.get("hidden_sizes"), "dropout": hp.get("dropout")})
        spec["hidden_sizes"] = [int(s) for s in bounds.get(hp, "hidden_sizes", [64, 64])]
        spec["dropout"] = float(bounds.get(hp, "dropout", 0.0))
    elif arch == "transformer":
        spec.update(d_model=_int(hp, "d_model", 32), heads=_int(hp, "heads", 4),
                    layers=_int(hp, "layers", 2), ff=_int(hp, "ff", 64))
        if spec["d_model"] % spec["heads"]:
            raise InputError(f"d_model ({spec['d_model']}) must be a multiple of heads ({spec['heads']})")
    elif arch == "conv1d":
        spec.update(channels=_int(hp, "channels", 16), hidden=_int(hp, "hidden", 64))
    else:
        spec.update(hidden=_int(hp, "hidden", 32), layers=_int(hp, "layers", 1))
    return spec


def build(spec):
    arch = spec["arch"]
    if arch == "mlp":
        layers, width = [], spec["n_features"]
        for size in spec["hidden_sizes"]:
            layers += [nn.Linear(width, size), nn.ReLU()]
            if spec.get("dropout"):
                layers.append(nn.Dropout(spec["dropout"]))
            width = size
        return nn.Sequential(*layers, nn.Linear(width, spec["n_outputs"]))
    if arch == "transformer":
        return TabularTransformer(spec)
    if arch == "conv1d":
        return TabularConv(spec)
    return TabularLSTM(spec)


class TabularTransformer(nn.Module):
    """Each feature value is a token (value projection + position); a [CLS] token feeds the head."""

    def __init__(self, spec):
        super().__init__()
        d = spec["d_model"]
        self.value = nn.Linear(1, d)
        self.position = nn.Parameter(torch.randn(1, spec["n_features"], d) * 0.02)
        self.cls = nn.Parameter(torch.zeros(1, 1, d))
        layer = nn.TransformerEncoderLayer(d, spec["heads"], spec["ff"], dropout=0.0, batch_first=True)
        try:
            self.encoder = nn.TransformerEncoder(layer, spec["layers"], enable_nested_tensor=False)
        except TypeError:  # older torch
            self.encoder = nn.TransformerEncoder(layer, spec["layers"])
        self.head = nn.Linear(d, spec["n_outputs"])

    def forward(self, x):
        tokens = self.value(x.unsqueeze(-1)) + self.position
        tokens = torch.cat([self.cls.expand(x.shape[0], -1, -1), tokens], dim=1)
        return self.head(self.encoder(tokens)[:, 0])


class TabularConv(nn.Module):
    def __init__(self, spec):
        super().__init__()
        c = spec["channels"]
        self.conv = nn.Sequential(nn.Conv1d(1, c, 3, padding=1), nn.ReLU(), nn.Conv1d(c, c, 3, padding=1), nn.ReLU())
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(c * spec["n_features"], spec["hidden"]), nn.ReLU(),
                                  nn.Linear(spec["hidden"], spec["n_outputs"]))

    def forward(self, x):
        return self.head(self.conv(x.unsqueeze(1)))


class TabularLSTM(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.lstm = nn.LSTM(1, spec["hidden"], num_layers=spec["layers"], batch_first=True)
        self.head = nn.Linear(spec["hidden"], spec["n_outputs"])

    def forward(self, x):
        output, _ = self.lstm(x.unsqueeze(-1))
        return self.head(output[:, -1])
