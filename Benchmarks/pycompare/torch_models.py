"""PyTorch modules mirroring MODELS.md §3 (RecBole SASRec), §4 (BERT4Rec 1.2.x) and §5 (GRU4Rec),
built from a state_dict, ending in full-catalog scores and top-k.

Every module takes `item_seq [B, L] int64` (right-padded with 0, already windowed) and
`item_seq_len [B] int64`, and returns `(scores [B, k], items [B, k])`. PAD (row 0), and for
BERT4Rec the MASK row, never enter the ranking: the scoring table is rows 1 … N-1, so no
post-hoc masking op is needed and ORT sees a plain MatMul + TopK.
"""
import math

import torch
from torch import nn
import torch.nn.functional as F


def _parameter(array):
    return nn.Parameter(torch.from_numpy(array.copy()), requires_grad=False)


class _Linear(nn.Module):
    def __init__(self, tensors, prefix):
        super().__init__()
        self.weight = _parameter(tensors[prefix + ".weight"])
        self.bias = _parameter(tensors[prefix + ".bias"])

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)


class _LayerNorm(nn.Module):
    def __init__(self, tensors, prefix, eps):
        super().__init__()
        self.weight = _parameter(tensors[prefix + ".weight"])
        self.bias = _parameter(tensors[prefix + ".bias"])
        self.eps = eps
        self.width = int(self.weight.shape[0])  # static, so the ONNX exporter sees a constant

    def forward(self, x):
        return F.layer_norm(x, (self.width,), self.weight, self.bias, self.eps)


class _RecBoleLayer(nn.Module):
    """MHA_RB then FFN_RB (MODELS.md §2.4–2.5): post-LN, scale after QKᵀ, additive mask."""

    def __init__(self, tensors, k, heads, eps):
        super().__init__()
        a = f"trm_encoder.layer.{k}.multi_head_attention."
        f = f"trm_encoder.layer.{k}.feed_forward."
        self.query, self.key, self.value = (_Linear(tensors, a + n) for n in ("query", "key", "value"))
        self.dense = _Linear(tensors, a + "dense")
        self.attention_norm = _LayerNorm(tensors, a + "LayerNorm", eps)
        self.dense_1 = _Linear(tensors, f + "dense_1")
        self.dense_2 = _Linear(tensors, f + "dense_2")
        self.ffn_norm = _LayerNorm(tensors, f + "LayerNorm", eps)
        self.heads = heads

    def _split(self, x):
        batch, length, width = x.shape
        return x.view(batch, length, self.heads, width // self.heads).transpose(1, 2)

    def forward(self, x, mask):
        batch, length, width = x.shape
        q, k, v = self._split(self.query(x)), self._split(self.key(x)), self._split(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(width // self.heads) + mask
        context = torch.matmul(torch.softmax(scores, dim=-1), v)
        context = context.transpose(1, 2).reshape(batch, length, width)
        y = self.attention_norm(self.dense(context) + x)
        return self.ffn_norm(self.dense_2(F.gelu(self.dense_1(y))) + y)


def _gather_last(output, item_seq_len):
    """RecBole gather_indexes: row item_seq_len-1 of every sequence."""
    index = (item_seq_len - 1).view(-1, 1, 1).expand(-1, 1, output.shape[-1])
    return output.gather(dim=1, index=index).squeeze(1)


class _TopK(nn.Module):
    def __init__(self, table, bias, k):
        super().__init__()
        self.table = _parameter(table)
        self.bias = None if bias is None else _parameter(bias)
        self.k = k

    def forward(self, u):
        scores = torch.matmul(u, self.table.t())
        if self.bias is not None:
            scores = scores + self.bias
        values, indices = torch.topk(scores, self.k, dim=-1)
        return values, indices + 1  # the table starts at item 1 (PAD excluded)


class RecBoleSASRec(nn.Module):
    """MODELS.md §3: embedding LN, causal + PAD mask, post-LN layers, newest row · E[i]."""

    def __init__(self, tensors, hp, k):
        super().__init__()
        eps = float(hp["layer_norm_eps"])
        self.item_embedding = _parameter(tensors["item_embedding.weight"])
        self.position_embedding = _parameter(tensors["position_embedding.weight"])
        self.norm = _LayerNorm(tensors, "LayerNorm", eps)
        self.layers = nn.ModuleList(_RecBoleLayer(tensors, i, int(hp["n_heads"]), eps)
                                    for i in range(int(hp["n_layers"])))
        self.top = _TopK(tensors["item_embedding.weight"][1:], None, k)

    def forward(self, item_seq, item_seq_len):
        length = item_seq.shape[1]
        positions = torch.arange(length, dtype=torch.long, device=item_seq.device)
        x = self.norm(self.item_embedding[item_seq] + self.position_embedding[positions])
        keys = (item_seq != 0).unsqueeze(1).unsqueeze(2)
        causal = torch.tril(torch.ones((length, length), dtype=torch.bool, device=item_seq.device))
        mask = torch.where(keys & causal, 0.0, -10000.0)
        for layer in self.layers:
            x = layer(x, mask)
        return self.top(_gather_last(x, item_seq_len))


class RecBoleBERT4Rec(nn.Module):
    """MODELS.md §4 (1.2.x): `item_seq` already holds the last m−1 items + MASK; bidirectional
    PAD-only mask; head LN(gelu(Lin(u))) on the MASK row; scores u·E[i] + output_bias[i]."""

    def __init__(self, tensors, hp, k):
        super().__init__()
        eps = float(hp["layer_norm_eps"])
        self.item_embedding = _parameter(tensors["item_embedding.weight"])
        self.position_embedding = _parameter(tensors["position_embedding.weight"])
        self.norm = _LayerNorm(tensors, "LayerNorm", eps)
        self.layers = nn.ModuleList(_RecBoleLayer(tensors, i, int(hp["n_heads"]), eps)
                                    for i in range(int(hp["n_layers"])))
        self.output_ffn = _Linear(tensors, "output_ffn")
        self.output_ln = _LayerNorm(tensors, "output_ln", eps)
        scored = tensors["output_bias"].shape[0]
        self.top = _TopK(tensors["item_embedding.weight"][1:scored], tensors["output_bias"][1:], k)

    def forward(self, item_seq, item_seq_len):
        length = item_seq.shape[1]
        positions = torch.arange(length, dtype=torch.long, device=item_seq.device)
        x = self.norm(self.item_embedding[item_seq] + self.position_embedding[positions])
        mask = torch.where((item_seq != 0).unsqueeze(1).unsqueeze(2), 0.0, -10000.0)
        for layer in self.layers:
            x = layer(x, mask)
        u = self.output_ln(F.gelu(self.output_ffn(_gather_last(x, item_seq_len))))
        return self.top(u)


class RecBoleGRU4Rec(nn.Module):
    """MODELS.md §5: bias-free nn.GRU over the window from a zero state, dense D→E on the newest
    step, scores u·E[i]."""

    def __init__(self, tensors, hp, k):
        super().__init__()
        self.item_embedding = _parameter(tensors["item_embedding.weight"])
        layers = int(hp["num_layers"])
        self.gru = nn.GRU(int(hp["embedding_size"]), int(hp["hidden_size"]), num_layers=layers,
                          bias=False, batch_first=True)
        with torch.no_grad():
            for layer in range(layers):
                getattr(self.gru, f"weight_ih_l{layer}").copy_(
                    torch.from_numpy(tensors[f"gru_layers.weight_ih_l{layer}"]))
                getattr(self.gru, f"weight_hh_l{layer}").copy_(
                    torch.from_numpy(tensors[f"gru_layers.weight_hh_l{layer}"]))
        self.gru.requires_grad_(False)
        self.dense = _Linear(tensors, "dense")
        self.top = _TopK(tensors["item_embedding.weight"][1:], None, k)

    def forward(self, item_seq, item_seq_len):
        output, _ = self.gru(self.item_embedding[item_seq])
        return self.top(self.dense(_gather_last(output, item_seq_len)))


MODULES = {"sasrec": RecBoleSASRec, "gru4rec": RecBoleGRU4Rec, "bert4rec": RecBoleBERT4Rec}


def build(family, tensors, hyperparameters, k):
    return MODULES[family](tensors, hyperparameters, k).eval()


def model_inputs(family, sessions, mask_token):
    """The upstream input tensors for full-length sessions [B, L] (oldest first)."""
    sequences = torch.from_numpy(sessions)
    if family == "bert4rec":
        # MODELS.md §4.3: drop the oldest item, append MASK; positions 0 … m−1.
        masks = torch.full((sequences.shape[0], 1), mask_token, dtype=torch.long)
        sequences = torch.cat([sequences[:, 1:], masks], dim=1)
    lengths = torch.full((sequences.shape[0],), sequences.shape[1], dtype=torch.long)
    return sequences.contiguous(), lengths
