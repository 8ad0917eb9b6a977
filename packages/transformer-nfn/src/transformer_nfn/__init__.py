"""transformer_nfn (see the package README)."""

from transformer_nfn.group import TransformerGroupElement, attention_invariants, equivalent, sample_group_element
from transformer_nfn.weightspace import TransformerSpec, TransformerWeightSpace

__version__ = "0.1.0"

__all__ = [
    "TransformerGroupElement",
    "TransformerSpec",
    "TransformerWeightSpace",
    "__version__",
    "attention_invariants",
    "equivalent",
    "sample_group_element",
]
