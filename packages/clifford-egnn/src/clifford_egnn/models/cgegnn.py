"""CG-EGNN: E(n)-equivariant k-hop message passing on Clifford-algebra multivectors (the project's reading).

Source: Tran, Vo, Tran Huu, Nguyen, "A Clifford Algebraic Approach to E(n)-Equivariant High-order Graph Neural
Networks" (arXiv 2410.04692). No code was published and parts of the equations are not available; the
architecture below is the design of ``specs/clifford-egnn.md`` section 3, with every choice a constructor
argument. With ``hops=1, path_features=False`` (and ``relative_positions=False``) the layer is CGENN's EGCL
(Ruhe, Brandstetter, Forre, NeurIPS 2023).

Equivariance: every learned map is a Clifford-group-equivariant layer of :mod:`clifford_egnn.nn`, positions
enter only through differences ``x_i - x_j`` and centred positions ``x_i - mean_graph(x)``, the path products
are geometric products of such differences (``rho(w)`` is an algebra automorphism), and aggregations are
means/sums over neighbourhoods. Hence the model is equivariant to E(n) (rotations, reflections, translations),
for any ``n``, and to node permutations. The universality result for k-hop message passing in the paper is
theory; it is documented here and not tested.
"""

from __future__ import annotations

import torch
from torch import nn

from clifford_egnn.algebra import CliffordAlgebra
from clifford_egnn.models.egnn import GraphOutput, _aggregate, _check_aggregation
from clifford_egnn.models.structure import HopStructure, StructureCache, validate_graph_inputs
from clifford_egnn.nn import CEMLP, MVLinear
from clifford_egnn.nn._layout import from_blade_major, to_blade_major
from weightspace_core.scatter import scatter_mean

__all__ = ["CGEGNN", "CGEGNNLayer"]

_PATH_AGGREGATIONS = ("pair", "node")


class CGEGNNLayer(nn.Module):
    """One CG-EGNN message-passing layer over ``K`` hop neighbourhoods, equivariant to the Clifford group.

    .. math::
        m^{(d)}_{ij} = \\mathrm{CEMLP}_d\\big([h_i - h_j,\\; s^{(d)}_{ij}]\\big),\\qquad
        m^{(d)}_i = \\operatorname{agg}_{j \\in N_d(i)} m^{(d)}_{ij},

    .. math::
        h_i \\leftarrow h_i + \\mathrm{CEMLP}_h\\big([h_i, m^{(1)}_i, \\ldots, m^{(K)}_i, a_i]\\big)

    where ``s^{(d)}_ij`` are the position-dependent but layer-independent edge multivectors computed once per
    forward by :class:`CGEGNN` (relative position, edge scalars on hop 1, path features), and ``a_i`` the node
    scalars in grade 0. Messages are concatenated along channels.

    Parameters
    ----------
    algebra:
        the :class:`~clifford_egnn.CliffordAlgebra`.
    hidden:
        multivector channels of ``h`` and of each message.
    edge_channels:
        ``K`` channel counts of ``s^{(d)}``.
    node_channels:
        channels of ``a``.
    aggregation:
        ``"mean"`` or ``"sum"`` over ``N_d(i)``.
    mlp_layers:
        blocks per CEMLP.
    residual:
        add ``h_i`` back (CGENN: True).
    normalization_init:
        passed to the steerable geometric products.

    Shapes
    ------
    ``h (N, hidden, dim)``, per hop ``edges (2, E_d)`` and ``s (E_d, edge_channels[d], dim)``,
    ``a (N, node_channels, dim)`` -> ``(N, hidden, dim)``.

    Examples
    --------
    >>> import torch
    >>> from clifford_egnn import CliffordAlgebra
    >>> layer = CGEGNNLayer(CliffordAlgebra((1, 1)), hidden=4, edge_channels=[1], node_channels=0)
    >>> edges = torch.tensor([[0, 1], [1, 0]])
    >>> layer(torch.randn(2, 4, 4), [edges], [torch.randn(2, 1, 4)], None).shape
    torch.Size([2, 4, 4])
    """

    def __init__(
        self,
        algebra: CliffordAlgebra,
        hidden: int,
        edge_channels: list[int],
        node_channels: int = 0,
        aggregation: str = "mean",
        mlp_layers: int = 2,
        residual: bool = True,
        normalization_init: float | None = 0.0,
    ) -> None:
        super().__init__()
        self.aggregation = _check_aggregation(aggregation, "CGEGNNLayer")
        self.hidden, self.residual, self.node_channels = hidden, residual, node_channels
        self.message_mlps = nn.ModuleList(
            CEMLP(algebra, hidden + c, hidden, hidden, mlp_layers, normalization_init) for c in edge_channels
        )
        node_in = hidden * (1 + len(edge_channels)) + node_channels
        self.node_mlp = CEMLP(algebra, node_in, hidden, hidden, mlp_layers, normalization_init)

    def forward(
        self,
        h: torch.Tensor,
        hop_edges: list[torch.Tensor],
        edge_features: list[torch.Tensor],
        node_features: torch.Tensor | None,
    ) -> torch.Tensor:
        h_t = self.forward_blade_major(
            to_blade_major(h),
            hop_edges,
            [to_blade_major(s) for s in edge_features],
            None if node_features is None else to_blade_major(node_features),
        )
        return from_blade_major(h_t, h.shape[:-2])

    def forward_blade_major(
        self,
        h_t: torch.Tensor,
        hop_edges: list[torch.Tensor],
        edge_features_t: list[torch.Tensor],
        node_features_t: torch.Tensor | None,
    ) -> torch.Tensor:
        """The same layer on blade-major features: ``h_t (dim, hidden, N)``, ``s_t (dim, edge_channels[d], E_d)``,
        ``a_t (dim, node_channels, N)`` -> ``(dim, hidden, N)``. :class:`CGEGNN` keeps its features in this layout
        from the embedding to the readout, so no layer pays for transposes."""
        num_nodes = h_t.shape[-1]
        pieces = [h_t]
        for mlp, edges, static_t in zip(self.message_mlps, hop_edges, edge_features_t):
            i, j = edges
            if i.numel() == 0:
                # No pair at this distance (hop 2 of a complete graph): the aggregate is zero, but the MLP still
                # runs on one zero message, scaled by 0, so every parameter gets a (zero) gradient, as DDP needs.
                dummy = h_t.new_zeros(1, mlp.in_channels, h_t.shape[0])
                pieces.append(h_t.new_zeros(h_t.shape[0], self.hidden, num_nodes) + 0.0 * mlp(dummy).sum())
                continue
            pieces.append(
                _aggregate(
                    mlp.forward_blade_major(self._project(mlp, h_t, i, j, static_t), projected=True),
                    i,
                    num_nodes,
                    self.aggregation,
                    dim=2,
                )
            )
        if node_features_t is not None:
            pieces.append(node_features_t)
        update = self.node_mlp.forward_blade_major(torch.cat(pieces, dim=1))
        return h_t + update if self.residual else update

    def _project(
        self, mlp: CEMLP, h_t: torch.Tensor, i: torch.Tensor, j: torch.Tensor, static_t: torch.Tensor
    ) -> torch.Tensor:
        """The message MLP's first linear map of ``[h_i - h_j, s_ij]``, ``(dim, hidden, E)``.

        It is linear, so ``W [h_i - h_j; s] + b = (W_h h)_i - (W_h h)_j + W_s s + b``: ``W_h`` runs on the N nodes
        rather than the E edges (E = N (N - 1) on complete graphs) and only the small ``W_s`` on edges.
        """
        linear = mlp.input_linear
        weight = linear.expanded_weight().permute(2, 0, 1)
        projected = torch.matmul(weight[:, :, : self.hidden], h_t)
        z_t = projected.index_select(2, i) - projected.index_select(2, j)
        if static_t.shape[1]:
            z_t = torch.baddbmm(z_t, weight[:, :, self.hidden :], static_t)
        if linear.bias is not None:
            z_t = z_t + linear.scalar_bias()
        return z_t


class CGEGNN(nn.Module):
    """CG-EGNN (our design of Tran et al. 2024): k-hop, path-aware message passing on multivector features.

    Per graph, with positions ``x (N, n)``, vector features ``v (N, C_v, n)``, scalars ``a = h (N, C_s)``, an
    edge list (complete graph when none) and edge scalars ``e (E, C_e)``:

    1. embedding ``h_i^0 = MVLinear([a_i in grade 0, x_i - centroid in grade 1, v_i in grade 1])``, centring by
       the mean position of each graph;
    2. hop neighbourhoods ``N_d(i) = {j : dist(i, j) = d}``, ``d = 1..K``, and paths ``i - u - j``
       (:mod:`clifford_egnn.models.structure`), computed once per topology and cached;
    3. path features ``s_iuj = (x_i - x_u)(x_u - x_j)`` (a geometric product of two vectors: grade 0 carries
       ``-(x_i - x_u).(x_j - x_u)``, lengths and angle, grade 2 the oriented plane and area), averaged over
       the intermediate nodes ``u`` into one multivector per pair ``(i, j)`` (``path_aggregation="pair"``,
       zero for pairs joined by no path) or averaged over ``(u, j)`` into one per node, used as
       ``[P_i, P_j]`` (``"node"``);
    4. ``layers`` :class:`CGEGNNLayer` with edge multivectors
       ``s^(d)_ij = [embed(x_i - x_j), e_ij (hop 1 only), path features]``;
    5. readout: positions ``x_i + <MVLinear(hidden -> 1)(h_i)>_1`` (or ``out_vectors`` channels), and
       ``out_scalars`` invariants ``<MVLinear(hidden -> out_scalars)(h_i)>_0``.

    On a complete graph (n-body) ``N_2`` is empty, and the path products carry the high-order information.
    ``CGEGNN(hops=1, path_features=False)`` is the CGENN baseline (with ``relative_positions=False`` exactly
    CGENN's EGCL messages ``[h_i - h_j, e_ij]``).

    Equivariant to E(n) in any dimension ``n`` (``x -> Q x + t``, ``v -> Q v``, ``Q`` orthogonal, reflections
    included) and to node permutations; ``scalars`` are invariant.

    Parameters
    ----------
    in_scalars, in_vectors:
        ``C_s`` and ``C_v``.
    hidden, layers:
        multivector channels and number of message-passing layers.
    hops:
        ``K >= 1``.
    path_features:
        add the path products to the messages.
    out_scalars:
        invariant outputs per node (may be 0).
    aggregation:
        ``"mean"`` (default, CGENN) or ``"sum"`` over each neighbourhood.
    dim:
        ``n``; the algebra is the Euclidean ``Cl(n, 0)``.
    edge_features:
        ``C_e`` of ``edge_attr`` (embedded in grade 0 of hop-1 messages).
    relative_positions:
        add ``embed(x_i - x_j)`` to every message (spec section 3).
    path_aggregation:
        ``"pair"`` or ``"node"`` (item 3).
    mlp_layers, residual, normalization_init:
        CEMLP depth, residual update, initial grade-normalisation gate.
    embedding_subspaces:
        one embedding weight per grade (True) or shared across grades (False, as CGENN).
    out_vectors:
        position outputs per node; 1 gives ``positions (N, n)``, more gives ``(N, out_vectors, n)``.
    cache_size:
        topologies kept by the :class:`~clifford_egnn.models.structure.StructureCache`.

    Forward
    -------
    ``model(x, v, h, edge_index=None, batch=None, edge_attr=None)`` -> :class:`GraphOutput`
    ``(positions, scalars (N, out_scalars))``. ``edge_index (2, E)`` int64, receiver first (``None``: the
    complete graph of every graph of ``batch``, ``edge_attr`` then in the order of
    :func:`~clifford_egnn.data.graphs.complete_edge_index`); ``batch (N,)`` non-decreasing graph ids (``None``:
    one graph). Bad shapes, dtypes or indices raise ``ValueError`` naming the tensor and the shapes.

    Examples
    --------
    >>> import torch
    >>> model = CGEGNN(in_scalars=1, in_vectors=1, hidden=8, layers=1, hops=2, path_features=True,
    ...                out_scalars=2, edge_features=1)
    >>> out = model(torch.randn(5, 3), torch.randn(5, 1, 3), torch.randn(5, 1), edge_attr=torch.randn(20, 1))
    >>> out.positions.shape, out.scalars.shape
    (torch.Size([5, 3]), torch.Size([5, 2]))
    """

    def __init__(
        self,
        in_scalars: int,
        in_vectors: int,
        hidden: int = 28,
        layers: int = 3,
        hops: int = 2,
        path_features: bool = True,
        out_scalars: int = 0,
        aggregation: str = "mean",
        dim: int = 3,
        edge_features: int = 0,
        relative_positions: bool = True,
        path_aggregation: str = "pair",
        mlp_layers: int = 2,
        residual: bool = True,
        normalization_init: float | None = 0.0,
        embedding_subspaces: bool = False,
        out_vectors: int = 1,
        cache_size: int = 32,
    ) -> None:
        super().__init__()
        for name, value in (
            ("in_scalars", in_scalars),
            ("in_vectors", in_vectors),
            ("out_scalars", out_scalars),
            ("edge_features", edge_features),
        ):
            if value < 0:
                raise ValueError(f"CGEGNN: expected {name} >= 0, found {value}")
        for name, value in (("hidden", hidden), ("layers", layers), ("hops", hops), ("out_vectors", out_vectors)):
            if value < 1:
                raise ValueError(f"CGEGNN: expected {name} >= 1, found {value}")
        if not 1 <= dim <= 6:
            raise ValueError(f"CGEGNN: expected dim between 1 and 6 (the algebra has 2^dim blades), found {dim}")
        if path_aggregation not in _PATH_AGGREGATIONS:
            raise ValueError(f"CGEGNN: expected path_aggregation in {_PATH_AGGREGATIONS}, found {path_aggregation!r}")
        _check_aggregation(aggregation, "CGEGNN")
        self.algebra = CliffordAlgebra((1,) * dim)
        self.in_scalars, self.in_vectors, self.out_scalars, self.out_vectors = (
            in_scalars,
            in_vectors,
            out_scalars,
            out_vectors,
        )
        self.dim, self.hops, self.edge_features = dim, hops, edge_features
        self.path_features, self.path_aggregation, self.relative_positions = (
            path_features,
            path_aggregation,
            relative_positions,
        )
        path_channels = (1 if path_aggregation == "pair" else 2) if path_features else 0
        edge_channels = [
            int(relative_positions) + (edge_features if d == 0 else 0) + path_channels for d in range(hops)
        ]
        self.embedding = MVLinear(self.algebra, in_scalars + 1 + in_vectors, hidden, subspaces=embedding_subspaces)
        self.layers = nn.ModuleList(
            CGEGNNLayer(
                self.algebra, hidden, edge_channels, in_scalars, aggregation, mlp_layers, residual, normalization_init
            )
            for _ in range(layers)
        )
        self.position_readout = MVLinear(self.algebra, hidden, out_vectors)
        self.scalar_readout = MVLinear(self.algebra, hidden, out_scalars) if out_scalars > 0 else None
        self.structure_cache = StructureCache(cache_size)

    def _path_features(self, x: torch.Tensor, structure: HopStructure) -> list[torch.Tensor]:
        """Per hop, ``(E_d, path_channels, dim)`` averaged path products."""
        i, u, j = structure.triplets
        alg = self.algebra
        products = alg.geometric_product(alg.embed(x[i] - x[u], 1), alg.embed(x[u] - x[j], 1))
        if self.path_aggregation == "pair":
            # The extra slot (index num_pairs) receives no triplet, so it is the zero feature of path-less pairs.
            per_pair = scatter_mean(products, structure.triplet_pair, structure.num_pairs + 1)
            return [per_pair[slots].unsqueeze(1) for slots in structure.hop_pair]
        per_node = scatter_mean(products, i, x.shape[0])
        return [torch.stack([per_node[e[0]], per_node[e[1]]], dim=1) for e in structure.hop_edges]

    def forward(
        self,
        x: torch.Tensor,
        v: torch.Tensor,
        h: torch.Tensor,
        edge_index: torch.Tensor | None = None,
        batch: torch.Tensor | None = None,
        edge_attr: torch.Tensor | None = None,
    ) -> GraphOutput:
        batch = validate_graph_inputs(
            x, self.dim, v, h, edge_index, batch, edge_attr, self.in_vectors, self.in_scalars, self.edge_features
        )
        num_nodes = x.shape[0]
        structure = self.structure_cache.get(edge_index, batch, self.hops, self.path_features)
        alg = self.algebra

        num_graphs = int(batch[-1]) + 1 if num_nodes else 0
        centred = x - scatter_mean(x, batch, num_graphs)[batch]
        inputs = [alg.embed(h.unsqueeze(-1), 0), alg.embed(centred.unsqueeze(1), 1), alg.embed(v, 1)]
        hidden = self.embedding(torch.cat(inputs, dim=1))

        paths = self._path_features(x, structure) if self.path_features else None
        edge_features = []
        for d, (i, j) in enumerate(structure.hop_edges):
            pieces = []
            if self.relative_positions:
                pieces.append(alg.embed((x[i] - x[j]).unsqueeze(1), 1))
            if d == 0 and edge_attr is not None:
                pieces.append(alg.embed(edge_attr.unsqueeze(-1), 0))
            if paths is not None:
                pieces.append(paths[d])
            if pieces:
                edge_features.append(torch.cat(pieces, dim=1))
            else:
                edge_features.append(x.new_zeros(i.numel(), 0, alg.dim))
        node_features = alg.embed(h.unsqueeze(-1), 0) if self.in_scalars else None

        # Blade-major from here to the readout: one transpose in, one out.
        hidden_t = to_blade_major(hidden)
        edge_features_t = [to_blade_major(s) for s in edge_features]
        node_features_t = None if node_features is None else to_blade_major(node_features)
        for layer in self.layers:
            hidden_t = layer.forward_blade_major(hidden_t, structure.hop_edges, edge_features_t, node_features_t)
        hidden = from_blade_major(hidden_t, hidden.shape[:-2])

        shift = alg.get_grade(self.position_readout(hidden), 1)
        positions = x + shift[:, 0] if self.out_vectors == 1 else x.unsqueeze(1) + shift
        if self.scalar_readout is None:
            scalars = x.new_zeros(num_nodes, 0)
        else:
            scalars = alg.get_grade(self.scalar_readout(hidden), 0).squeeze(-1)
        return GraphOutput(positions, scalars)
