"""The weight space of a transformer encoder (spec section 2), with batch and channel axes.

Per block ``l`` and head ``i`` (row-vector convention, ``X W``): ``W_Q^(i), W_K^(i)`` of shape ``(D, D_k)``,
``W_V^(i)`` ``(D, D_v)``, ``W_O^(i)`` ``(D_v, D)``; per block ``W_A`` ``(D, D_A)``, ``W_B`` ``(D_A, D)``, ``b_A``
``(D_A,)``, ``b_B`` ``(D,)``. A :class:`TransformerWeightSpace` stacks them over a batch of B networks (or feature
maps), C channels, L blocks and h heads:

=========  ===============================
``query``  ``(B, C, L, h, D, D_k)``
``key``    ``(B, C, L, h, D, D_k)``
``value``  ``(B, C, L, h, D, D_v)``
``out``    ``(B, C, L, h, D_v, D)``
``w_a``    ``(B, C, L, D, D_A)``
``w_b``    ``(B, C, L, D_A, D)``
``b_a``    ``(B, C, L, D_A)``
``b_b``    ``(B, C, L, D)``
=========  ===============================

The embedding and classifier weights are carried beside the encoder in ``extras``, a dict from state-dict key to
a ``(B, *shape)`` tensor; no group element acts on them.

From the zoo's torch layout (``Linear.weight`` is ``(out, in)``): ``W_Q^(i)`` is the i-th block of ``D_k`` columns
of ``queries.weight.T`` (likewise keys, values), ``W_O^(i)`` the i-th block of ``D_v`` rows of
``out_projection.weight.T``, ``W_A = fc1.weight.T``, ``b_A = fc1.bias``, ``W_B = fc2.weight.T``, ``b_B = fc2.bias``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

__all__ = ["ENCODER_FIELDS", "TransformerSpec", "TransformerWeightSpace"]

ENCODER_FIELDS: tuple[str, ...] = ("query", "key", "value", "out", "w_a", "w_b", "b_a", "b_b")

_BLOCK_KEYS = {
    "attention.queries.weight": "query",
    "attention.keys.weight": "key",
    "attention.values.weight": "value",
    "attention.out_projection.weight": "out",
    "fc1.weight": "w_a",
    "fc1.bias": "b_a",
    "fc2.weight": "w_b",
    "fc2.bias": "b_b",
}
_ENCODER_KEY_RE = re.compile(r"^encoder\.(\d+)\.(.+)$")
_SPEC_RE = re.compile(r"^L(\d+)-D(\d+)-h(\d+)-k(\d+)-v(\d+)-A(\d+)$")


@dataclass(frozen=True)
class TransformerSpec:
    """The shape of a transformer encoder's weight space, without values.

    It prints to and parses from the same string ``"L{blocks}-D{D}-h{heads}-k{D_k}-v{D_v}-A{D_A}"``.

    Examples
    --------
    >>> spec = TransformerSpec(num_blocks=2, embed_dim=32, num_heads=2, key_dim=16, value_dim=16, ffn_dim=64)
    >>> str(spec)
    'L2-D32-h2-k16-v16-A64'
    >>> TransformerSpec.parse(str(spec)) == spec, spec.num_params
    (True, 16576)
    """

    num_blocks: int
    embed_dim: int
    num_heads: int
    key_dim: int
    value_dim: int
    ffn_dim: int

    def __post_init__(self) -> None:
        for name in ("num_blocks", "embed_dim", "num_heads", "key_dim", "value_dim", "ffn_dim"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"TransformerSpec.{name}: expected a positive integer, found {value!r}")

    @classmethod
    def parse(cls, text: str) -> TransformerSpec:
        """Parse the string :meth:`__str__` prints."""
        match = _SPEC_RE.match(text.strip())
        if match is None:
            raise ValueError(
                f"TransformerSpec.parse: expected 'L<int>-D<int>-h<int>-k<int>-v<int>-A<int>', found {text!r}"
            )
        return cls(*(int(g) for g in match.groups()))

    @classmethod
    def from_module(cls, model: nn.Module) -> TransformerSpec:
        """The spec of a :class:`~transformer_nfn.zoo.ZooTransformer` (or anything with the same attributes)."""
        names = ("num_blocks", "embed_dim", "num_heads", "key_dim", "value_dim", "ffn_dim")
        missing = [n for n in names if not hasattr(model, n)]
        if missing:
            raise ValueError(f"from_module: expected a ZooTransformer-like model with {names}, missing {missing}")
        return cls(*(int(getattr(model, n)) for n in names))

    def __str__(self) -> str:
        return (
            f"L{self.num_blocks}-D{self.embed_dim}-h{self.num_heads}-k{self.key_dim}-v{self.value_dim}-A{self.ffn_dim}"
        )

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Per-field shape after the ``(B, C)`` axes."""
        L, D, h, dk, dv, da = (
            self.num_blocks,
            self.embed_dim,
            self.num_heads,
            self.key_dim,
            self.value_dim,
            self.ffn_dim,
        )
        return {
            "query": (L, h, D, dk),
            "key": (L, h, D, dk),
            "value": (L, h, D, dv),
            "out": (L, h, dv, D),
            "w_a": (L, D, da),
            "w_b": (L, da, D),
            "b_a": (L, da),
            "b_b": (L, D),
        }

    def block_state_shapes(self) -> dict[str, tuple[int, ...]]:
        """Torch shapes of one block's state-dict entries (keys relative to ``encoder.{b}.``)."""
        D, h, dk, dv, da = self.embed_dim, self.num_heads, self.key_dim, self.value_dim, self.ffn_dim
        return {
            "attention.queries.weight": (h * dk, D),
            "attention.keys.weight": (h * dk, D),
            "attention.values.weight": (h * dv, D),
            "attention.out_projection.weight": (D, h * dv),
            "fc1.weight": (da, D),
            "fc1.bias": (da,),
            "fc2.weight": (D, da),
            "fc2.bias": (D,),
        }

    @property
    def num_params(self) -> int:
        """Number of encoder weights of one network (one channel)."""
        total = 0
        for shape in self.shapes().values():
            n = 1
            for s in shape:
                n *= s
            total += n
        return total


def _shape_str(shape: Sequence[int]) -> str:
    return str(tuple(int(s) for s in shape))


def _infer_spec(state_dict: Mapping[str, torch.Tensor], num_heads: int) -> TransformerSpec:
    """Read the sizes off block 0 and check the head count against the projection widths."""
    if isinstance(num_heads, bool) or not isinstance(num_heads, int) or num_heads < 1:
        raise ValueError(f"num_heads: expected a positive integer, found {num_heads!r}")
    blocks = sorted({int(m.group(1)) for k in state_dict if (m := _ENCODER_KEY_RE.match(k))})
    if not blocks:
        raise ValueError(
            f"state dict: expected encoder keys 'encoder.{{b}}.attention.queries.weight' etc., found keys "
            f"{sorted(state_dict)[:8]}"
        )
    if blocks != list(range(len(blocks))):
        raise ValueError(f"state dict: expected encoder blocks numbered 0..{len(blocks) - 1}, found {blocks}")
    for rel in ("attention.queries.weight", "attention.values.weight", "fc1.weight"):
        if f"encoder.0.{rel}" not in state_dict:
            raise ValueError(f"state dict: missing key 'encoder.0.{rel}'")
    q = state_dict["encoder.0.attention.queries.weight"]
    v = state_dict["encoder.0.attention.values.weight"]
    a = state_dict["encoder.0.fc1.weight"]
    for key, t in (("queries", q), ("values", v), ("fc1", a)):
        if t.ndim != 2:
            raise ValueError(
                f"state dict: expected 'encoder.0.{key}...weight' to be 2-d, found shape {_shape_str(t.shape)}"
            )
    for key, t in (("attention.queries.weight", q), ("attention.values.weight", v)):
        if t.shape[0] % num_heads:
            raise ValueError(
                f"num_heads={num_heads} does not divide the {t.shape[0]} output features of 'encoder.0.{key}' "
                f"(shape {_shape_str(t.shape)})"
            )
    return TransformerSpec(
        num_blocks=len(blocks),
        embed_dim=int(q.shape[1]),
        num_heads=num_heads,
        key_dim=int(q.shape[0]) // num_heads,
        value_dim=int(v.shape[0]) // num_heads,
        ffn_dim=int(a.shape[0]),
    )


def _extras_expected(extras: Mapping[str, torch.Tensor], spec: TransformerSpec) -> dict[str, tuple[int, ...] | None]:
    """Shapes the embedding and classifier entries must have (``None``: any leading size, checked separately)."""
    D = spec.embed_dim
    expected: dict[str, tuple[int, ...] | None] = {
        "classifier.fc1.weight": (D, D),
        "classifier.fc1.bias": (D,),
        "classifier.fc2.weight": None,
        "classifier.fc2.bias": None,
    }
    if any(k.startswith("embedding.") for k in extras):
        expected.update({"embedding.conv1.weight": None, "embedding.conv1.bias": (D,), "embedding.pos_embedding": None})
    return expected


def _check_extras(extras: Mapping[str, torch.Tensor], spec: TransformerSpec, batched: bool) -> None:
    off = 1 if batched else 0
    expected = _extras_expected(extras, spec)
    missing = [k for k in expected if k not in extras]
    if missing:
        raise ValueError(f"state dict: missing keys {missing}")
    D = spec.embed_dim
    for key, shape in expected.items():
        found = tuple(extras[key].shape[off:])
        if shape is not None and found != shape:
            raise ValueError(f"state dict: '{key}' expected shape {_shape_str(shape)}, found {_shape_str(found)}")
    w2, b2 = tuple(extras["classifier.fc2.weight"].shape[off:]), tuple(extras["classifier.fc2.bias"].shape[off:])
    if len(w2) != 2 or w2[1] != D or b2 != (w2[0],):
        raise ValueError(
            f"state dict: 'classifier.fc2.weight' expected shape (C, {D}) and 'classifier.fc2.bias' (C,), found "
            f"{_shape_str(w2)} and {_shape_str(b2)}"
        )
    if "embedding.conv1.weight" in expected:
        cw = tuple(extras["embedding.conv1.weight"].shape[off:])
        pe = tuple(extras["embedding.pos_embedding"].shape[off:])
        if len(cw) != 4 or cw[0] != D:
            raise ValueError(
                f"state dict: 'embedding.conv1.weight' expected shape ({D}, c, p, p), found {_shape_str(cw)}"
            )
        if len(pe) != 2 or pe[1] != D:
            raise ValueError(f"state dict: 'embedding.pos_embedding' expected shape (T, {D}), found {_shape_str(pe)}")


class TransformerWeightSpace:
    """Weights (or features) of a batch of transformer encoders, with channel, block and head axes.

    Parameters
    ----------
    query, key, value, out, w_a, w_b, b_a, b_b:
        the encoder tensors in the shapes of the module docstring (``W_Q``, ``W_K``, ``W_V``, ``W_O``, ``W_A``,
        ``W_B``, ``b_A``, ``b_B``).
    extras:
        embedding and classifier tensors, state-dict key -> ``(B, *shape)``; empty for layer features.

    Examples
    --------
    >>> from transformer_nfn.zoo import ZooTransformer
    >>> model = ZooTransformer()
    >>> ws = TransformerWeightSpace.from_module(model)
    >>> str(ws.spec), tuple(ws.query.shape), tuple(ws.w_b.shape)
    ('L2-D32-h2-k16-v16-A64', (1, 1, 2, 2, 32, 16), (1, 1, 2, 64, 32))
    >>> clone = ws.load_into(ZooTransformer())
    >>> x = torch.randn(2, 1, 28, 28)
    >>> torch.equal(clone(x), model(x))
    True
    """

    def __init__(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        out: torch.Tensor,
        w_a: torch.Tensor,
        w_b: torch.Tensor,
        b_a: torch.Tensor,
        b_b: torch.Tensor,
        extras: Mapping[str, torch.Tensor] | None = None,
    ) -> None:
        self.query, self.key, self.value, self.out = query, key, value, out
        self.w_a, self.w_b, self.b_a, self.b_b = w_a, w_b, b_a, b_b
        self.extras: dict[str, torch.Tensor] = dict(extras or {})
        if query.ndim != 6:
            raise ValueError(f"query: expected shape (B, C, L, h, D, D_k), found {_shape_str(query.shape)}")
        B, C, L, h, D, dk = query.shape
        self.spec = TransformerSpec(
            num_blocks=L,
            embed_dim=D,
            num_heads=h,
            key_dim=dk,
            value_dim=int(value.shape[-1]) if value.ndim == 6 else 1,
            ffn_dim=int(w_a.shape[-1]) if w_a.ndim == 5 else 1,
        )
        for name, shape in self.spec.shapes().items():
            t = getattr(self, name)
            if tuple(t.shape) != (B, C, *shape):
                raise ValueError(f"{name}: expected shape {_shape_str((B, C, *shape))}, found {_shape_str(t.shape)}")
        for k, t in self.extras.items():
            if t.shape[:1] != (B,):
                raise ValueError(
                    f"extras['{k}']: expected a leading batch axis of size {B}, found {_shape_str(t.shape)}"
                )

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_state_dict(
        cls, state_dict: Mapping[str, torch.Tensor], num_heads: int = 2, spec: TransformerSpec | None = None
    ) -> TransformerWeightSpace:
        """One network (``B = C = 1``) from a zoo state dict.

        The sizes are read off the tensors; ``num_heads`` splits the projections (it must divide their widths).
        Pass ``spec`` to demand an exact architecture. Every encoder, embedding and classifier key is checked:
        a missing key, an unexpected ``encoder.*`` key or a wrong shape raises ``ValueError`` naming the key,
        the expected and the found shape.
        """
        return cls.from_state_dicts([state_dict], num_heads=num_heads, spec=spec)

    @classmethod
    def from_state_dicts(
        cls, state_dicts: Sequence[Mapping[str, torch.Tensor]], num_heads: int = 2, spec: TransformerSpec | None = None
    ) -> TransformerWeightSpace:
        """A batch of ``B = len(state_dicts)`` networks of one architecture (``C = 1``)."""
        if not state_dicts:
            raise ValueError("from_state_dicts: expected at least one state dict, found none")
        found_spec = _infer_spec(state_dicts[0], num_heads if spec is None else spec.num_heads)
        if spec is not None and found_spec != spec:
            raise ValueError(f"state dict: expected architecture {spec}, found {found_spec}")
        spec = found_spec
        shapes = spec.block_state_shapes()
        fields: dict[str, list[torch.Tensor]] = {f: [] for f in ENCODER_FIELDS}
        extras_lists: dict[str, list[torch.Tensor]] = {}
        for n, sd in enumerate(state_dicts):
            where = "state dict" if len(state_dicts) == 1 else f"state dict {n}"
            expected_keys = {f"encoder.{b}.{rel}" for b in range(spec.num_blocks) for rel in shapes}
            encoder_keys = {k for k in sd if k.startswith("encoder.")}
            missing = sorted(expected_keys - encoder_keys)
            if missing:
                raise ValueError(f"{where}: missing keys {missing}")
            unexpected = sorted(encoder_keys - expected_keys)
            if unexpected:
                raise ValueError(f"{where}: unexpected keys {unexpected} for architecture {spec}")
            per_field: dict[str, list[torch.Tensor]] = {f: [] for f in ENCODER_FIELDS}
            for b in range(spec.num_blocks):
                for rel, shape in shapes.items():
                    key = f"encoder.{b}.{rel}"
                    t = sd[key]
                    if tuple(t.shape) != shape:
                        raise ValueError(
                            f"{where}: '{key}' expected shape {_shape_str(shape)} for architecture {spec}, found "
                            f"{_shape_str(t.shape)}"
                        )
                    per_field[_BLOCK_KEYS[rel]].append(t.detach())
            for f in ENCODER_FIELDS:
                fields[f].append(torch.stack(per_field[f]))
            extras = {k: v.detach() for k, v in sd.items() if not k.startswith("encoder.")}
            _check_extras(extras, spec, batched=False)
            if n == 0:
                extras_lists = {k: [] for k in extras}
            elif set(extras) != set(extras_lists):
                raise ValueError(f"{where}: expected non-encoder keys {sorted(extras_lists)}, found {sorted(extras)}")
            for k, v in extras.items():
                if extras_lists[k] and extras_lists[k][0].shape != v.shape:
                    raise ValueError(
                        f"{where}: '{k}' expected shape {_shape_str(extras_lists[k][0].shape)}, found "
                        f"{_shape_str(v.shape)}"
                    )
                extras_lists[k].append(v)
        L, h, D = spec.num_blocks, spec.num_heads, spec.embed_dim
        dk, dv = spec.key_dim, spec.value_dim
        wq = torch.stack(fields["query"])  # (B, L, h*dk, D)
        wk = torch.stack(fields["key"])
        wv = torch.stack(fields["value"])
        wo = torch.stack(fields["out"])  # (B, L, D, h*dv)
        B = wq.shape[0]
        return cls(
            query=wq.view(B, L, h, dk, D).transpose(-1, -2).unsqueeze(1),
            key=wk.view(B, L, h, dk, D).transpose(-1, -2).unsqueeze(1),
            value=wv.view(B, L, h, dv, D).transpose(-1, -2).unsqueeze(1),
            out=wo.transpose(-1, -2).reshape(B, L, h, dv, D).unsqueeze(1),
            w_a=torch.stack(fields["w_a"]).transpose(-1, -2).unsqueeze(1),
            w_b=torch.stack(fields["w_b"]).transpose(-1, -2).unsqueeze(1),
            b_a=torch.stack(fields["b_a"]).unsqueeze(1),
            b_b=torch.stack(fields["b_b"]).unsqueeze(1),
            extras={key: torch.stack(vs) for key, vs in extras_lists.items()},
        )

    @classmethod
    def randn(
        cls,
        spec: TransformerSpec,
        batch_size: int = 1,
        channels: int = 1,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
        generator: torch.Generator | None = None,
    ) -> TransformerWeightSpace:
        """Standard-normal encoder tensors of shape ``(batch_size, channels, ...)`` (no extras), e.g. as features.

        >>> spec = TransformerSpec.parse("L1-D4-h2-k2-v3-A5")
        >>> TransformerWeightSpace.randn(spec, 2, 3, generator=torch.Generator().manual_seed(0)).out.shape
        torch.Size([2, 3, 1, 2, 3, 4])
        """
        fields: dict[str, Any] = {
            name: torch.randn(batch_size, channels, *shape, generator=generator, dtype=dtype, device=device)
            for name, shape in spec.shapes().items()
        }
        return cls(**fields)

    @classmethod
    def from_module(cls, model: nn.Module) -> TransformerWeightSpace:
        """One network from a :class:`~transformer_nfn.zoo.ZooTransformer` (its ``num_heads`` splits the heads)."""
        spec = TransformerSpec.from_module(model)
        return cls.from_state_dict(model.state_dict(), spec=spec)

    # ------------------------------------------------------------------ export
    def state_dict(self, index: int = 0, channel: int = 0) -> dict[str, torch.Tensor]:
        """Network ``index`` (channel ``channel``) as a zoo state dict in torch layout."""
        B, C = self.batch_size, self.num_channels
        if not (-B <= index < B and -C <= channel < C):
            raise ValueError(f"state_dict: index {index}, channel {channel} out of range for B={B}, C={C}")
        s = self.spec
        L, h, D, dk, dv = s.num_blocks, s.num_heads, s.embed_dim, s.key_dim, s.value_dim
        q = self.query[index, channel].transpose(-1, -2).reshape(L, h * dk, D)
        k = self.key[index, channel].transpose(-1, -2).reshape(L, h * dk, D)
        v = self.value[index, channel].transpose(-1, -2).reshape(L, h * dv, D)
        o = self.out[index, channel].reshape(L, h * dv, D).transpose(-1, -2)
        out: dict[str, torch.Tensor] = {}
        for b in range(L):
            pre = f"encoder.{b}."
            out[pre + "attention.queries.weight"] = q[b]
            out[pre + "attention.keys.weight"] = k[b]
            out[pre + "attention.values.weight"] = v[b]
            out[pre + "attention.out_projection.weight"] = o[b]
            out[pre + "fc1.weight"] = self.w_a[index, channel, b].T
            out[pre + "fc1.bias"] = self.b_a[index, channel, b]
            out[pre + "fc2.weight"] = self.w_b[index, channel, b].T
            out[pre + "fc2.bias"] = self.b_b[index, channel, b]
        out.update({k2: t[index] for k2, t in self.extras.items()})
        return {k2: t.contiguous() for k2, t in out.items()}

    def load_into(self, model: nn.Module, index: int = 0, channel: int = 0) -> nn.Module:
        """Copy network ``index`` into ``model`` in place (its dtype and device are kept) and return ``model``.

        Encoder keys must all be present in the model with matching shapes; extras are copied where the model
        has them (a text model has no ``embedding.*``).
        """
        target = model.state_dict()
        sd = self.state_dict(index, channel)
        encoder_keys = {k for k in target if k.startswith("encoder.")}
        ours = {k for k in sd if k.startswith("encoder.")}
        if encoder_keys != ours:
            raise ValueError(
                f"load_into: expected the model's encoder keys to equal the weight space's ({self.spec}); missing "
                f"{sorted(ours - encoder_keys)[:4]}, extra {sorted(encoder_keys - ours)[:4]}"
            )
        with torch.no_grad():
            for k, t in sd.items():
                if k not in target:
                    if k.startswith("classifier."):
                        raise ValueError(f"load_into: the model has no '{k}'")
                    continue
                if target[k].shape != t.shape:
                    raise ValueError(
                        f"load_into: '{k}' expected shape {_shape_str(target[k].shape)}, found {_shape_str(t.shape)}"
                    )
                target[k].copy_(t)
        return model

    # ------------------------------------------------------------------ container protocol
    @property
    def batch_size(self) -> int:
        return int(self.query.shape[0])

    @property
    def num_channels(self) -> int:
        return int(self.query.shape[1])

    @property
    def dtype(self) -> torch.dtype:
        return self.query.dtype

    @property
    def device(self) -> torch.device:
        return self.query.device

    def encoder_tensors(self) -> tuple[torch.Tensor, ...]:
        """The eight encoder tensors in :data:`ENCODER_FIELDS` order."""
        return tuple(getattr(self, f) for f in ENCODER_FIELDS)

    def tensors(self) -> tuple[torch.Tensor, ...]:
        """Encoder tensors, then the extras in sorted key order."""
        return (*self.encoder_tensors(), *(self.extras[k] for k in sorted(self.extras)))

    def replace(self, **fields: torch.Tensor) -> TransformerWeightSpace:
        """A copy with some encoder fields (or ``extras=``) replaced."""
        values: dict[str, Any] = {f: getattr(self, f) for f in ENCODER_FIELDS}
        values["extras"] = self.extras
        unknown = set(fields) - set(values)
        if unknown:
            raise ValueError(f"replace: expected fields among {(*ENCODER_FIELDS, 'extras')}, found {sorted(unknown)}")
        values.update(fields)
        return TransformerWeightSpace(**values)

    def map(self, fn: Callable[[torch.Tensor], torch.Tensor], extras: bool = False) -> TransformerWeightSpace:
        """Apply ``fn`` to every encoder tensor (and to the extras when ``extras=True``)."""
        new = {f: fn(getattr(self, f)) for f in ENCODER_FIELDS}
        ex = {k: fn(t) for k, t in self.extras.items()} if extras else self.extras
        return TransformerWeightSpace(**new, extras=ex)

    def to(self, *args: Any, **kwargs: Any) -> TransformerWeightSpace:
        """``Tensor.to`` on every tensor, extras included (floating-point dtypes only change float tensors)."""
        return self.map(lambda t: t.to(*args, **kwargs), extras=True)

    def __iter__(self) -> Iterator[torch.Tensor]:
        return iter(self.tensors())

    def __add__(self, other: TransformerWeightSpace) -> TransformerWeightSpace:
        if not isinstance(other, TransformerWeightSpace):
            return NotImplemented
        return TransformerWeightSpace(
            *(a + b for a, b in zip(self.encoder_tensors(), other.encoder_tensors())), extras=self.extras
        )

    def __getitem__(self, index: int | slice | torch.Tensor) -> TransformerWeightSpace:
        """Select networks along the batch axis (keeps the axis for slices and index tensors)."""
        if isinstance(index, int):
            index = slice(index, index + 1 if index != -1 else None)
        return self.map(lambda t: t[index], extras=True)

    @staticmethod
    def stack(spaces: Sequence[TransformerWeightSpace]) -> TransformerWeightSpace:
        """Concatenate weight spaces of one spec along the batch axis."""
        if not spaces:
            raise ValueError("stack: expected at least one weight space, found none")
        first = spaces[0]
        for s in spaces[1:]:
            if s.spec != first.spec or s.num_channels != first.num_channels or set(s.extras) != set(first.extras):
                raise ValueError(f"stack: expected spec {first.spec} and the same extras, found {s.spec}")
        fields = {f: torch.cat([getattr(s, f) for s in spaces]) for f in ENCODER_FIELDS}
        extras = {k: torch.cat([s.extras[k] for s in spaces]) for k in first.extras}
        return TransformerWeightSpace(**fields, extras=extras)

    def flatten(self, extras: bool = True, trainable_only: bool = True) -> torch.Tensor:
        """All values of each network as one row: ``(B, C * num_params [+ extras])``.

        ``trainable_only`` leaves out ``embedding.pos_embedding``, a fixed buffer equal in every zoo network.
        """
        B = self.batch_size
        parts = [t.reshape(B, -1) for t in self.encoder_tensors()]
        if extras:
            parts += [
                self.extras[k].reshape(B, -1)
                for k in sorted(self.extras)
                if not (trainable_only and k == "embedding.pos_embedding")
            ]
        return torch.cat(parts, dim=1)

    def __repr__(self) -> str:
        return (
            f"TransformerWeightSpace(spec={self.spec}, batch={self.batch_size}, channels={self.num_channels}, "
            f"extras={sorted(self.extras)})"
        )
