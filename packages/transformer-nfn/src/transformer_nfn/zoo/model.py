"""The Small Transformer Zoo's architecture, reproduced exactly (spec section 2 and the release's key names).

One encoder block computes, in the row-vector convention (tokens are rows of ``X``, shape ``(T, D)``),

    X <- MHA(LN(X)),            MHA(Y) = sum_i softmax(Y W_Q^(i) (Y W_K^(i))^T / sqrt(D_k)) Y W_V^(i) W_O^(i),
    X <- ReLU(LN(X) W_A + b_A) W_B + b_B,

with LayerNorm WITHOUT learnable parameters, attention WITHOUT biases and NO residual connections (these three
choices make the permutation ``P_O`` of the attention's output coordinates a symmetry of the network). After
the blocks: LayerNorm, mean over tokens, then the classifier ``fc2(ReLU(fc1(z)))``. The image variant embeds
``patch_size x patch_size`` patches with a strided Conv2d and adds a fixed sinusoidal position encoding (a
persistent buffer, so it is part of the state dict as in the release, but not trainable).

State-dict keys (equal to the public release's):
``embedding.conv1.{weight,bias}``, ``embedding.pos_embedding``,
``encoder.{b}.attention.{queries,keys,values,out_projection}.weight``, ``encoder.{b}.fc{1,2}.{weight,bias}``,
``classifier.fc{1,2}.{weight,bias}``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ZooAttention", "ZooEncoderBlock", "ZooPatchEmbedding", "ZooTransformer", "sinusoidal_position_encoding"]


def _check_positive(**sizes: int | None) -> None:
    for name, value in sizes.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: expected a positive integer, found {value!r}")


def sinusoidal_position_encoding(num_positions: int, dim: int) -> torch.Tensor:
    """The fixed encoding of Vaswani et al.: ``PE[t, 2i] = sin(t / 10000^(2i/dim))``, ``PE[t, 2i+1] = cos(...)``.

    Returns a float32 tensor of shape ``(num_positions, dim)``.

    Examples
    --------
    >>> pe = sinusoidal_position_encoding(49, 32)
    >>> pe.shape, pe[0, :4].tolist()
    (torch.Size([49, 32]), [0.0, 1.0, 0.0, 1.0])
    """
    _check_positive(num_positions=num_positions, dim=dim)
    position = torch.arange(num_positions, dtype=torch.float64)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float64) * (-math.log(10000.0) / dim))
    pe = torch.zeros(num_positions, dim, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(position * freq)
    pe[:, 1::2] = torch.cos(position * freq[: dim // 2])
    return pe.to(torch.float32)


class ZooAttention(nn.Module):
    """Bias-free multi-head attention in the zoo's layout.

    ``queries``/``keys`` are ``Linear(D, h*D_k)``, ``values`` is ``Linear(D, h*D_v)``, ``out_projection`` is
    ``Linear(h*D_v, D)``; head ``i`` owns output features ``i*D_k .. (i+1)*D_k`` of ``queries``/``keys`` (so
    ``W_Q^(i)`` is the i-th column block of ``queries.weight.T``) and input features ``i*D_v .. (i+1)*D_v`` of
    ``out_projection`` (``W_O^(i)`` is the i-th row block of ``out_projection.weight.T``).

    Computes ``MHA(Y) = sum_i softmax(Y W_Q^(i) (Y W_K^(i))^T / sqrt(D_k)) Y W_V^(i) W_O^(i)`` on ``Y`` of shape
    ``(B, T, D)`` and returns ``(B, T, D)``. ``mask`` (optional, ``(B, T)`` bool, True = real token) removes
    padded keys from every softmax. ``dropout`` acts on the attention probabilities while training.

    Examples
    --------
    >>> attn = ZooAttention(embed_dim=8, num_heads=2, key_dim=3, value_dim=5)
    >>> attn(torch.randn(4, 6, 8)).shape
    torch.Size([4, 6, 8])
    """

    def __init__(self, embed_dim: int, num_heads: int, key_dim: int, value_dim: int, dropout: float = 0.0) -> None:
        super().__init__()
        _check_positive(embed_dim=embed_dim, num_heads=num_heads, key_dim=key_dim, value_dim=value_dim)
        self.embed_dim, self.num_heads, self.key_dim, self.value_dim = embed_dim, num_heads, key_dim, value_dim
        self.queries = nn.Linear(embed_dim, num_heads * key_dim, bias=False)
        self.keys = nn.Linear(embed_dim, num_heads * key_dim, bias=False)
        self.values = nn.Linear(embed_dim, num_heads * value_dim, bias=False)
        self.out_projection = nn.Linear(num_heads * value_dim, embed_dim, bias=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, y: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        b, t, _ = y.shape
        h = self.num_heads
        q = self.queries(y).view(b, t, h, self.key_dim).transpose(1, 2)
        k = self.keys(y).view(b, t, h, self.key_dim).transpose(1, 2)
        v = self.values(y).view(b, t, h, self.value_dim).transpose(1, 2)
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.key_dim)
        if mask is not None:
            scores = scores.masked_fill(~mask[:, None, None, :], float("-inf"))
        probs = self.dropout(torch.softmax(scores, dim=-1))
        heads = (probs @ v).transpose(1, 2).reshape(b, t, h * self.value_dim)
        return self.out_projection(heads)


class ZooEncoderBlock(nn.Module):
    """One zoo encoder block: ``X <- MHA(LN(X))``, then ``X <- ReLU(LN(X) W_A + b_A) W_B + b_B``.

    LayerNorm has no parameters. With ``residual=True`` both sub-layers add their input back
    (``X <- X + MHA(LN(X))`` etc.): NOT the zoo's architecture, kept as the negative control under which the
    ``P_O`` symmetry stops holding. ``dropout`` (training only) acts on the attention probabilities, the
    attention output and the FFN hidden units. Takes and returns ``(B, T, D)``.

    Examples
    --------
    >>> block = ZooEncoderBlock(embed_dim=8, num_heads=2, key_dim=4, value_dim=4, ffn_dim=16)
    >>> block(torch.randn(2, 5, 8)).shape
    torch.Size([2, 5, 8])
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        key_dim: int,
        value_dim: int,
        ffn_dim: int,
        residual: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        _check_positive(ffn_dim=ffn_dim)
        self.residual = residual
        self.attention = ZooAttention(embed_dim, num_heads, key_dim, value_dim, dropout)
        self.fc1 = nn.Linear(embed_dim, ffn_dim)
        self.fc2 = nn.Linear(ffn_dim, embed_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        d = x.shape[-1]
        attn = self.dropout(self.attention(F.layer_norm(x, (d,)), mask))
        x = x + attn if self.residual else attn
        ffn = self.fc2(self.dropout(F.relu(self.fc1(F.layer_norm(x, (d,))))))
        return x + ffn if self.residual else ffn


class ZooPatchEmbedding(nn.Module):
    """Non-overlapping patch embedding plus a fixed sinusoidal position encoding.

    ``conv1 = Conv2d(in_channels, D, patch_size, stride=patch_size)``; ``(B, C, H, W) -> (B, T, D)`` with
    ``T = (H / patch_size) * (W / patch_size)`` tokens in row-major patch order, plus ``pos_embedding`` (T, D).

    Examples
    --------
    >>> emb = ZooPatchEmbedding(embed_dim=32, image_size=28, patch_size=4, in_channels=1)
    >>> emb(torch.randn(2, 1, 28, 28)).shape
    torch.Size([2, 49, 32])
    """

    pos_embedding: torch.Tensor

    def __init__(self, embed_dim: int, image_size: int, patch_size: int, in_channels: int) -> None:
        super().__init__()
        _check_positive(embed_dim=embed_dim, image_size=image_size, patch_size=patch_size, in_channels=in_channels)
        if image_size % patch_size:
            raise ValueError(
                f"patch_size: expected a divisor of image_size={image_size}, found patch_size={patch_size}"
            )
        self.image_size, self.patch_size, self.in_channels = image_size, patch_size, in_channels
        self.num_patches = (image_size // patch_size) ** 2
        self.conv1 = nn.Conv2d(in_channels, embed_dim, kernel_size=patch_size, stride=patch_size)
        self.register_buffer("pos_embedding", sinusoidal_position_encoding(self.num_patches, embed_dim))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        expected = (self.in_channels, self.image_size, self.image_size)
        if images.ndim != 4 or tuple(images.shape[1:]) != expected:
            raise ValueError(
                f"images: expected shape (B, {', '.join(map(str, expected))}), found {tuple(images.shape)}"
            )
        tokens = self.conv1(images).flatten(2).transpose(1, 2)
        return tokens + self.pos_embedding


class _Classifier(nn.Module):
    def __init__(self, embed_dim: int, num_classes: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(embed_dim, embed_dim)
        self.fc2 = nn.Linear(embed_dim, num_classes)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.relu(self.fc1(z)))


class ZooTransformer(nn.Module):
    """The Small Transformer Zoo classifier with every size a constructor argument.

    ``logits = fc2(ReLU(fc1(mean_t LN(block_L(... block_1(embed(x)))))))`` with the blocks of
    :class:`ZooEncoderBlock` (no residuals, parameter-free LayerNorm, bias-free attention).

    Parameters
    ----------
    embed_dim, num_heads, key_dim, value_dim, num_blocks, ffn_dim, num_classes:
        ``D``, ``h``, ``D_k``, ``D_v``, number of encoder blocks, FFN width ``D_A``, number of classes.
        The zoo: 32, 2, 16, 16, 2, 64, 10 (18,506 trainable parameters for MNIST).
    residual:
        add residual connections (NOT the zoo; the negative control for the ``P_O`` symmetry).
    image_size, patch_size, in_channels:
        the image variant's patch embedding (``embedding.conv1``, ``embedding.pos_embedding``). Pass
        ``image_size=None`` for the text variant: the model then takes already-embedded tokens ``(B, T, D)``
        (AG-News' frozen word embeddings are not part of the checkpoints) and has no ``embedding`` module.
    dropout:
        dropout probability used while training (attention probabilities, attention output, FFN hidden units);
        it adds no parameters and is the identity in ``eval()`` mode.

    Inputs: images ``(B, in_channels, image_size, image_size)``, or tokens ``(B, T, D)`` with an optional
    ``mask`` ``(B, T)`` (True = real token; padded tokens are excluded from attention keys and from the mean).
    Returns logits ``(B, num_classes)``.

    Examples
    --------
    >>> model = ZooTransformer()
    >>> sum(p.numel() for p in model.parameters())
    18506
    >>> model(torch.randn(3, 1, 28, 28)).shape
    torch.Size([3, 10])
    >>> sorted(model.state_dict())[:4]
    ['classifier.fc1.bias', 'classifier.fc1.weight', 'classifier.fc2.bias', 'classifier.fc2.weight']
    """

    def __init__(
        self,
        embed_dim: int = 32,
        num_heads: int = 2,
        key_dim: int = 16,
        value_dim: int = 16,
        num_blocks: int = 2,
        ffn_dim: int = 64,
        num_classes: int = 10,
        residual: bool = False,
        image_size: int | None = 28,
        patch_size: int = 4,
        in_channels: int = 1,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        _check_positive(
            embed_dim=embed_dim,
            num_heads=num_heads,
            key_dim=key_dim,
            value_dim=value_dim,
            num_blocks=num_blocks,
            ffn_dim=ffn_dim,
            num_classes=num_classes,
        )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout: expected a probability in [0, 1), found {dropout!r}")
        self.embed_dim, self.num_heads, self.key_dim, self.value_dim = embed_dim, num_heads, key_dim, value_dim
        self.num_blocks, self.ffn_dim, self.num_classes, self.residual = num_blocks, ffn_dim, num_classes, residual
        self.embedding: ZooPatchEmbedding | None = (
            ZooPatchEmbedding(embed_dim, image_size, patch_size, in_channels) if image_size is not None else None
        )
        self.encoder = nn.ModuleList(
            ZooEncoderBlock(embed_dim, num_heads, key_dim, value_dim, ffn_dim, residual, dropout)
            for _ in range(num_blocks)
        )
        self.classifier = _Classifier(embed_dim, num_classes)

    def encode(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """The pooled representation ``mean_t LN(blocks(embed(x)))`` of shape ``(B, D)``."""
        if self.embedding is not None:
            if mask is not None:
                raise ValueError("mask: expected None for the image variant (every patch is a real token)")
            tokens = self.embedding(x)
        else:
            if x.ndim != 3 or x.shape[-1] != self.embed_dim:
                raise ValueError(f"tokens: expected shape (B, T, {self.embed_dim}), found {tuple(x.shape)}")
            tokens = x
        if mask is not None and (mask.shape != tokens.shape[:2] or mask.dtype != torch.bool):
            raise ValueError(
                f"mask: expected a bool tensor of shape {tuple(tokens.shape[:2])}, found {mask.dtype} "
                f"{tuple(mask.shape)}"
            )
        for block in self.encoder:
            tokens = block(tokens, mask)
        tokens = F.layer_norm(tokens, (self.embed_dim,))
        if mask is None:
            return tokens.mean(dim=1)
        weights = mask.to(tokens.dtype)[..., None]
        return (tokens * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.classifier(self.encode(x, mask))
