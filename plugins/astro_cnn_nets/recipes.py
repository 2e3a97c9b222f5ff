"""Named training recipes: the settings the engine's trainer understands.

Keys: ``optimizer`` ("adamw" | "adam" | "sgd" with momentum 0.9), ``lr`` (peak learning rate of the last layer group),
``lr_ratios`` (discriminative factors for the backbone's layer groups, earliest first),
``weight_decay``, ``batch_size``, ``head_epochs`` (epochs training the head alone),
``cycles`` (cosine-annealing-with-warm-restarts cycle lengths in epochs, all layers),
``epochs`` (used instead of ``cycles`` when the schedule is "constant" or "step"),
``schedule`` ("cosine_restarts" | "step" | "constant"), ``augment`` (dihedral flips/rotations),
``tta`` (test-time augmentation with the 8 dihedral transforms), ``val_fraction``, and the optional speed
settings ``channels_last``, ``bf16`` (bfloat16 autocast) and ``compile`` (``torch.compile``), off unless set.
"""

from __future__ import annotations

__all__ = ["RECIPES"]

RECIPES = {
    "wu2019": (
        "Wu & Boada (2019): head alone for 2 epochs, then all layers with discriminative learning rates "
        "(lr/100, lr/10, lr), AdamW + weight decay, cosine annealing with warm restarts over cycles of 1, 1, "
        "2, 4 epochs, batch 256, dihedral augmentation and TTA",
        {"optimizer": "adamw", "lr": 3e-3, "lr_ratios": (0.01, 0.1, 1.0), "weight_decay": 1e-2, "batch_size": 256,
         "head_epochs": 2, "cycles": (1, 1, 2, 4), "schedule": "cosine_restarts", "augment": True, "tta": True,
         "val_fraction": 0.1},
    ),
    "wu2019-small-data": (
        "the Wu & Boada recipe for a few hundred images: batch 32 so each epoch has enough steps, cycles of "
        "2, 2, 4, 8 epochs",
        {"optimizer": "adamw", "lr": 3e-3, "lr_ratios": (0.1, 0.3, 1.0), "weight_decay": 5e-2, "batch_size": 32,
         "head_epochs": 2, "cycles": (2, 2, 4, 8), "schedule": "cosine_restarts", "augment": True, "tta": True,
         "val_fraction": 0.0},
    ),
    "pasquet2019": (
        "Pasquet et al. (2019): Adam, cross-entropy over the redshift bins, batch 64, learning rate 1e-3 "
        "divided by 10 for the last third of the epochs, dihedral augmentation",
        {"optimizer": "adam", "lr": 1e-3, "lr_ratios": (1.0, 1.0, 1.0), "weight_decay": 0.0, "batch_size": 64,
         "head_epochs": 0, "epochs": 30, "schedule": "step", "augment": True, "tta": True, "val_fraction": 0.1},
    ),
    "quick": (
        "a short smoke-test recipe: AdamW, one epoch head-only, two epochs all layers, batch 16",
        {"optimizer": "adamw", "lr": 3e-3, "lr_ratios": (1.0, 1.0, 1.0), "weight_decay": 1e-2, "batch_size": 16,
         "head_epochs": 1, "cycles": (2,), "schedule": "cosine_restarts", "augment": True, "tta": False,
         "val_fraction": 0.0},
    ),
}
