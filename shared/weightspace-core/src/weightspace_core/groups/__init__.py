"""Group elements that can be sampled, composed, inverted, turned into matrices and applied along an axis.

- :class:`Permutation` and :class:`Monomial` (``D P``: positive scalings or signs times a permutation);
- :class:`Orthogonal` (Haar-random O(n)), :class:`Euclidean` (orthogonal plus translation),
  :class:`GeneralLinear` (well-conditioned GL(n));
- :class:`MonomialAction` and :func:`sample_monomial`: the monomial group of a feed-forward network's hidden
  neurons acting on its :class:`~weightspace_core.WeightSpace` and on the network itself.
"""

from weightspace_core.groups._base import GroupElement
from weightspace_core.groups.linear import Euclidean, GeneralLinear, Orthogonal, haar_orthogonal
from weightspace_core.groups.monomial import MONOMIAL_KINDS, Monomial, Permutation, sample_diagonal, sample_perm
from weightspace_core.groups.weightspace_action import MonomialAction, sample_monomial

__all__ = [
    "MONOMIAL_KINDS",
    "Euclidean",
    "GeneralLinear",
    "GroupElement",
    "Monomial",
    "MonomialAction",
    "Orthogonal",
    "Permutation",
    "haar_orthogonal",
    "sample_diagonal",
    "sample_monomial",
    "sample_perm",
]
