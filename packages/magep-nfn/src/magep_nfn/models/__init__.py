"""Ready models for the three MAGEP-NFN tasks: predicting generalisation, classifying INRs, editing weights.

Each is built with MAGEP or any baseline backbone by one argument (``backbone="magep" | "monomial" | "hnp" |
"np" | "stat" | "mlp"``, or the variant ``"magep_pooled"``); see :mod:`magep_nfn.models.tasks`.
"""

from magep_nfn.models.tasks import (
    BACKBONES,
    EQUIVARIANT_BACKBONES,
    PERMUTATION_BACKBONES,
    VARIANT_BACKBONES,
    GeneralizationPredictor,
    INRClassifier,
    InvariantModel,
    WeightEditor,
    equivariant_stack,
    stack_nonlinearity,
)

__all__ = [
    "BACKBONES",
    "EQUIVARIANT_BACKBONES",
    "GeneralizationPredictor",
    "INRClassifier",
    "InvariantModel",
    "PERMUTATION_BACKBONES",
    "VARIANT_BACKBONES",
    "WeightEditor",
    "equivariant_stack",
    "stack_nonlinearity",
]
