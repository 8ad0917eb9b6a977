"""EGNN (Satorras, Hoogeboom, Welling, ICML 2021), velocity variant: the scalar-message E(n) baseline."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from clifford_egnn.data.graphs import complete_edge_index
from clifford_egnn.models.structure import validate_graph_inputs
from weightspace_core.scatter import scatter_mean, scatter_sum

__all__ = ["EGNN", "EGNNLayer", "GraphOutput"]

_AGGREGATIONS = ("sum", "mean")


class GraphOutput(NamedTuple):
    """What the graph models return: updated ``positions`` ``(N, n)`` and invariant ``scalars`` ``(N, C_out)``."""

    positions: torch.Tensor
    scalars: torch.Tensor


def _check_aggregation(aggregation: str, what: str) -> str:
    if aggregation not in _AGGREGATIONS:
        raise ValueError(f"{what}: expected aggregation in {_AGGREGATIONS}, found {aggregation!r}")
    return aggregation


def _aggregate(
    messages: torch.Tensor, index: torch.Tensor, num_nodes: int, aggregation: str, dim: int = 0
) -> torch.Tensor:
    if aggregation == "sum":
        return scatter_sum(messages, index, num_nodes, dim)
    return scatter_mean(messages, index, num_nodes, dim)


class EGNNLayer(nn.Module):
    """One E(n)-equivariant graph convolution with a velocity term (EGNN's ``E_GCL_vel``).

    .. math::
        m_{ij} = \\phi_e(h_i, h_j, \\|x_i - x_j\\|^2, e_{ij}), \\qquad
        x_i \\leftarrow x_i + \\frac{1}{|N(i)|} \\sum_{j} (x_i - x_j)\\, \\phi_x(m_{ij})
              + \\sum_c \\phi_v(h_i)_c\\, v_{ic},

    .. math::
        h_i \\leftarrow h_i + \\phi_h\\Big(h_i, \\operatorname{agg}_j m_{ij}\\Big)

    with two-layer SiLU MLPs; the last layer of ``phi_x`` has no bias and a small (gain 0.001) Xavier init, as
    in the reference. Equivariant to E(n) (rotations, reflections, translations of ``x``; ``v`` rotates and
    reflects) and to node permutations.

    Parameters
    ----------
    hidden:
        width of ``h`` and of the messages.
    in_vectors:
        vector channels ``C_v`` of ``v`` (``phi_v`` outputs one gate per channel; 0 disables the term).
    edge_features:
        ``C_e`` of ``edge_attr``.
    aggregation:
        ``"sum"`` (the reference for ``h``) or ``"mean"``; the coordinate update always averages.

    Shapes
    ------
    ``h (N, hidden)``, ``x (N, n)``, ``v (N, C_v, n)``, ``edge_index (2, E)``, ``edge_attr (E, C_e)`` ->
    ``(h (N, hidden), x (N, n))``.

    Examples
    --------
    >>> import torch
    >>> layer = EGNNLayer(hidden=8, in_vectors=1, edge_features=1)
    >>> edges = torch.tensor([[0, 1], [1, 0]])
    >>> h, x = layer(torch.randn(2, 8), torch.randn(2, 3), torch.randn(2, 1, 3), edges, torch.ones(2, 1))
    >>> h.shape, x.shape
    (torch.Size([2, 8]), torch.Size([2, 3]))
    """

    def __init__(self, hidden: int, in_vectors: int = 1, edge_features: int = 0, aggregation: str = "sum") -> None:
        super().__init__()
        self.aggregation = _check_aggregation(aggregation, "EGNNLayer")
        act = nn.SiLU
        self.edge_mlp = nn.Sequential(
            nn.Linear(2 * hidden + 1 + edge_features, hidden), act(), nn.Linear(hidden, hidden), act()
        )
        self.node_mlp = nn.Sequential(nn.Linear(2 * hidden, hidden), act(), nn.Linear(hidden, hidden))
        last = nn.Linear(hidden, 1, bias=False)
        nn.init.xavier_uniform_(last.weight, gain=0.001)
        self.coord_mlp = nn.Sequential(nn.Linear(hidden, hidden), act(), last)
        self.velocity_mlp = (
            nn.Sequential(nn.Linear(hidden, hidden), act(), nn.Linear(hidden, in_vectors)) if in_vectors > 0 else None
        )

    def forward(
        self,
        h: torch.Tensor,
        x: torch.Tensor,
        v: torch.Tensor | None,
        edge_index: torch.Tensor,
        edge_attr: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        row, col = edge_index
        diff = x[row] - x[col]
        radial = (diff * diff).sum(-1, keepdim=True)
        inputs = [h[row], h[col], radial]
        if edge_attr is not None:
            inputs.append(edge_attr)
        m = self.edge_mlp(torch.cat(inputs, dim=-1))
        num_nodes = x.shape[0]
        x_new = x + scatter_mean(diff * self.coord_mlp(m), row, num_nodes)
        if self.velocity_mlp is not None and v is not None:
            x_new = x_new + (self.velocity_mlp(h).unsqueeze(-1) * v).sum(-2)
        h_new = h + self.node_mlp(torch.cat([h, _aggregate(m, row, num_nodes, self.aggregation)], dim=-1))
        return h_new, x_new


class EGNN(nn.Module):
    """EGNN with velocities (Satorras et al. 2021), with the calling convention of :class:`CGEGNN`.

    Node invariants ``[h_i, |v_i1|, ..., |v_iC_v|]`` are embedded linearly to ``hidden`` channels, ``layers``
    :class:`EGNNLayer` update features and positions, and a linear map reads ``out_scalars`` invariants from
    the final ``h``. The reference n-body model uses hidden 64, 4 layers, node feature ``|v|`` and edge scalar
    ``q_i q_j``; here the node scalars ``h`` (charges for n-body) are used as well.

    Equivariant to E(n) (``x -> Q x + t``, ``v -> Q v``, any orthogonal ``Q``) and to node permutations.

    Parameters
    ----------
    in_scalars, in_vectors:
        ``C_s`` of ``h`` and ``C_v`` of ``v``.
    hidden, layers:
        width and depth.
    out_scalars:
        invariant outputs per node (0 for none).
    aggregation:
        ``"sum"`` (reference) or ``"mean"`` over neighbours for the feature update.
    dim:
        dimension ``n`` of space.
    edge_features:
        ``C_e`` of ``edge_attr``.

    Forward
    -------
    ``model(x (N, n), v (N, C_v, n), h (N, C_s), edge_index=None, batch=None, edge_attr=None)`` ->
    :class:`GraphOutput` ``(positions (N, n), scalars (N, out_scalars))``. ``edge_index=None`` is the complete
    graph of every graph of ``batch`` (``None``: one graph), with ``edge_attr`` in the order of
    :func:`~clifford_egnn.data.graphs.complete_edge_index`.

    Examples
    --------
    >>> import torch
    >>> model = EGNN(in_scalars=1, in_vectors=1, hidden=16, layers=2, out_scalars=0, edge_features=1)
    >>> out = model(torch.randn(5, 3), torch.randn(5, 1, 3), torch.randn(5, 1), edge_attr=torch.randn(20, 1))
    >>> out.positions.shape, out.scalars.shape
    (torch.Size([5, 3]), torch.Size([5, 0]))
    """

    def __init__(
        self,
        in_scalars: int,
        in_vectors: int,
        hidden: int = 64,
        layers: int = 4,
        out_scalars: int = 0,
        aggregation: str = "sum",
        dim: int = 3,
        edge_features: int = 0,
    ) -> None:
        super().__init__()
        for name, value in (("in_scalars", in_scalars), ("in_vectors", in_vectors), ("out_scalars", out_scalars)):
            if value < 0:
                raise ValueError(f"EGNN: expected {name} >= 0, found {value}")
        if hidden < 1 or layers < 1 or dim < 1:
            raise ValueError(f"EGNN: expected positive hidden, layers and dim, found {hidden}, {layers}, {dim}")
        if in_scalars + in_vectors == 0:
            raise ValueError("EGNN: expected at least one scalar or vector input channel, found none")
        self.in_scalars, self.in_vectors, self.out_scalars = in_scalars, in_vectors, out_scalars
        self.dim, self.edge_features = dim, edge_features
        self.embedding = nn.Linear(in_scalars + in_vectors, hidden)
        self.layers = nn.ModuleList(EGNNLayer(hidden, in_vectors, edge_features, aggregation) for _ in range(layers))
        self.readout = nn.Linear(hidden, out_scalars) if out_scalars > 0 else None

    def encode(
        self,
        x: torch.Tensor,
        v: torch.Tensor,
        h: torch.Tensor,
        edge_index: torch.Tensor | None = None,
        batch: torch.Tensor | None = None,
        edge_attr: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The message-passing trunk: ``(hidden (N, H), positions (N, n), edge_index (2, E))`` after all layers.

        Validates the inputs and builds the complete graph per graph of ``batch`` when ``edge_index`` is None; heads
        (the readout here, multi-frame heads elsewhere) start from its outputs.
        """
        batch = validate_graph_inputs(
            x, self.dim, v, h, edge_index, batch, edge_attr, self.in_vectors, self.in_scalars, self.edge_features
        )
        if edge_index is None:
            edge_index = complete_edge_index(batch)
        hidden = self.embedding(torch.cat([h, v.norm(dim=-1)], dim=-1))
        for layer in self.layers:
            hidden, x = layer(hidden, x, v, edge_index, edge_attr)
        return hidden, x, edge_index

    def forward(
        self,
        x: torch.Tensor,
        v: torch.Tensor,
        h: torch.Tensor,
        edge_index: torch.Tensor | None = None,
        batch: torch.Tensor | None = None,
        edge_attr: torch.Tensor | None = None,
    ) -> GraphOutput:
        hidden, x, _ = self.encode(x, v, h, edge_index, batch, edge_attr)
        scalars = self.readout(hidden) if self.readout is not None else x.new_zeros(x.shape[0], 0)
        return GraphOutput(x, scalars)
