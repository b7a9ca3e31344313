"""LEADER student (leader.md §4.2), with the reference code's bugs fixed (see trainer/README.md).

StudentModel is exactly what is exported to ONNX (inputs diag, proc, med, visit_mask, profile;
outputs probs, hidden). TrainingHeads holds the training-only parts: the KD projector and the
profile-alignment projections.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

# Additive mask for padded keys. Finite (not -inf), as LEADER: a row whose keys are ALL padding
# (an empty code set) then gets a uniform softmax instead of NaN; its output is discarded by the
# masked mean anyway.
MASK_FILL = -1e9


@dataclass
class ModelConfig:
    num_tokens: int
    num_labels: int
    profile_sizes: List[int]
    max_visits: int = 10
    dim: int = 64
    heads: int = 4
    ffn_dim: int = 300
    head_hidden: int = 128
    hidden_dropout: float = 0.4
    attention_dropout: float = 0.1
    visit_positions: bool = True
    # Wide path (Wide & Deep, Cheng et al. 2016): a linear layer over the bag of the target visit's
    # diagnoses/procedures and all history medications, added to the logits. It gives the student what
    # the logistic-regression baseline sees, so small data sets do not have to be learnt through attention.
    wide: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


class MultiHeadAttention(nn.Module):
    """LEADER's MHA: q/k/v Linear without bias, output Linear with bias, masked logits = -1e9."""

    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        assert dim % heads == 0
        self.heads, self.head_dim = heads, dim // heads
        self.q = nn.Linear(dim, dim, bias=False)
        self.k = nn.Linear(dim, dim, bias=False)
        self.v = nn.Linear(dim, dim, bias=False)
        self.out = nn.Linear(dim, dim)
        self.drop = nn.Dropout(dropout)

    def _split(self, x: torch.Tensor) -> torch.Tensor:  # [N, L, D] -> [N, H, L, Dh]
        return x.reshape(x.shape[0], x.shape[1], self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
        # x [N, L, D]; key_mask [N, L] float, 1 = real key.
        q, k, v = self._split(self.q(x)), self._split(self.k(x)), self._split(self.v(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim)
        scores = scores + (1.0 - key_mask)[:, None, None, :] * MASK_FILL
        attn = self.drop(torch.softmax(scores, dim=-1))
        ctx = torch.matmul(attn, v).transpose(1, 2)
        return self.out(ctx.reshape(ctx.shape[0], ctx.shape[1], -1))

    def fused_qkv_weight(self) -> torch.Tensor:
        """[3D, D]: q, k, v stacked for one matmul, with q pre-scaled by 1/sqrt(d_h) (then the
        [N,H,L,L] scores need no division). Same parameters, so checkpoints are unchanged."""
        return torch.cat([self.q.weight / math.sqrt(self.head_dim), self.k.weight, self.v.weight], dim=0)

    def forward_packed(self, h: torch.Tensor, sets: "PackedSets") -> torch.Tensor:
        """The same attention over real tokens only. h [T, D] holds the real tokens of `sets`; q/k/v are
        projected for those T rows, scattered into a zero [N, L] layout for the attention itself (its
        padded keys get -1e9, so they weigh exactly 0, as in forward), and gathered back to [T, D]."""
        n, length, dim = sets.n, sets.length, h.shape[-1]
        qkv = F.linear(h, self.fused_qkv_weight())
        padded = qkv.new_zeros(n * length, 3 * dim).index_copy(0, sets.flat, qkv)
        q, k, v = padded.view(n, length, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        scores = torch.matmul(q, k.transpose(-1, -2)) + sets.key_bias
        attn = self.drop(torch.softmax(scores, dim=-1))
        ctx = torch.matmul(attn, v).transpose(1, 2).reshape(n * length, dim).index_select(0, sets.flat)
        return self.out(ctx)


class TransformerBlock(nn.Module):
    """Pre-LN block as LEADER's bert_models.TransformerBlock: x + Drop(MHA(LN x)), x + Drop(FFN(LN x)),
    then Drop(x). FFN = W2(Drop(gelu_tanh(W1 x))). LayerNorm eps 1e-12 (biased variance, TF-style)."""

    def __init__(self, dim: int, heads: int, ffn_dim: int, hidden_dropout: float, attention_dropout: float):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim, eps=1e-12)
        self.attn = MultiHeadAttention(dim, heads, attention_dropout)
        self.ln2 = nn.LayerNorm(dim, eps=1e-12)
        self.w1 = nn.Linear(dim, ffn_dim)
        self.w2 = nn.Linear(ffn_dim, dim)
        self.act = nn.GELU(approximate="tanh")
        self.drop = nn.Dropout(hidden_dropout)

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
        x = x + self.drop(self.attn(self.ln1(x), key_mask))
        x = x + self.drop(self.w2(self.drop(self.act(self.w1(self.ln2(x))))))
        return self.drop(x)

    def forward_packed(self, x: torch.Tensor, sets: "PackedSets") -> torch.Tensor:
        """forward() on the real tokens x [T, D] only: every op but the attention is per token."""
        x = x + self.drop(self.attn.forward_packed(self.ln1(x), sets))
        x = x + self.drop(self.w2(self.drop(self.act(self.w1(self.ln2(x))))))
        return self.drop(x)


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over dim -2 of x [..., L, D] where mask [..., L] = 1; an all-padding row gives the zero vector."""
    m = mask.unsqueeze(-1)
    return (x * m).sum(dim=-2) / m.sum(dim=-2).clamp(min=1.0)


class PackedSets:
    """The non-empty sets of an id matrix [N, K] (pad id 0, anywhere), compacted: `keep` [n] indexes
    them in N; each one's real tokens, in row-major order, sit at `flat` = set * length + slot of a
    [n, length] layout (length = largest set). Attention and the mean ignore order, so dropping the
    padding, and the all-padding sets whose encoding is the zero vector anyway, changes no output."""

    def __init__(self, ids: torch.Tensor):
        mask = ids > 0
        sizes = mask.sum(dim=1)
        self.keep = torch.nonzero(sizes).squeeze(1)
        self.n = int(self.keep.numel())
        self.tokens = ids[mask]  # [T]
        if self.n == 0:
            return
        mask_kept = mask.index_select(0, self.keep)
        self.sizes = sizes.index_select(0, self.keep).to(torch.float32)  # [n]
        self.length = int(self.sizes.max())
        slot = torch.cumsum(mask_kept, dim=1) - 1
        rows = torch.arange(self.n).unsqueeze(1).expand_as(mask_kept)
        self.set_of_token = rows[mask_kept]  # [T]
        self.flat = self.set_of_token * self.length + slot[mask_kept]
        real = torch.zeros(self.n * self.length).index_fill_(0, self.flat, 1.0).view(self.n, 1, 1, self.length)
        self.key_bias = (1.0 - real) * MASK_FILL  # [n, 1, 1, length]


_force_padded = False


@contextmanager
def padded_computation():
    """Run the padded computation (the one exported to ONNX) in PyTorch too: for tests and benches."""
    global _force_padded
    previous, _force_padded = _force_padded, True
    try:
        yield
    finally:
        _force_padded = previous


def packed_path() -> bool:
    """The packed set encoding (and the stacked visit block) is PyTorch-only: the ONNX graph keeps the
    padded computation, which gives the same outputs up to float rounding (tested) with no data-dependent
    shapes."""
    return not _force_padded and not torch.onnx.is_in_onnx_export() and not torch.jit.is_tracing()


class SetEncoder(nn.Module):
    """One transformer layer over the codes of each visit, then a masked mean: [B,V,K] ids -> [B,V,D]."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.block = TransformerBlock(cfg.dim, cfg.heads, cfg.ffn_dim, cfg.hidden_dropout, cfg.attention_dropout)

    def encode_sets(self, emb: nn.Embedding, ids: torch.Tensor) -> torch.Tensor:
        # ids [N, K] -> [N, D]
        if packed_path():
            return self.encode_sets_packed(emb, ids)
        mask = (ids > 0).to(torch.float32)
        return masked_mean(self.block(emb(ids), mask), mask)

    def encode_sets_packed(self, emb: nn.Embedding, ids: torch.Tensor) -> torch.Tensor:
        """encode_sets on the real tokens only (PackedSets): the padded batches of MIMIC-like data are
        mostly padding (empty visit slots, sets far below the batch's largest)."""
        sets = PackedSets(ids)
        out = emb.weight.new_zeros(ids.shape[0], emb.embedding_dim)
        if sets.n == 0:
            return out
        x = self.block.forward_packed(emb(sets.tokens), sets)
        sums = x.new_zeros(sets.n, x.shape[-1]).index_add(0, sets.set_of_token, x)
        return out.index_copy(0, sets.keep, sums / sets.sizes.unsqueeze(1))

    def forward(self, emb: nn.Embedding, ids: torch.Tensor) -> torch.Tensor:
        flat = self.encode_sets(emb, ids.flatten(0, 1))
        return flat.reshape(ids.shape[0], ids.shape[1], flat.shape[-1])


class ProfileEncoder(nn.Module):
    """One embedding per profile field, concatenated, Linear -> D: the pseudo medication-history
    vector q (LEADER's ProfileEncoder; its dead med_head / unused diag/proc prompts are not built)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.fields = nn.ModuleList([nn.Embedding(max(1, n), cfg.dim) for n in cfg.profile_sizes])
        self.proj = nn.Linear(cfg.dim * max(1, len(cfg.profile_sizes)), cfg.dim)

    def forward(self, profile: torch.Tensor) -> torch.Tensor:
        if len(self.fields) == 0:  # no profile fields: one learned vector (LEADER's PaddingEncoder role)
            return self.proj(torch.zeros(profile.shape[0], self.proj.in_features))
        parts = [emb(profile[:, i]) for i, emb in enumerate(self.fields)]
        return self.proj(torch.cat(parts, dim=-1))


class StudentModel(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.embedding = nn.Embedding(cfg.num_tokens, cfg.dim, padding_idx=0)
        self.diag_enc = SetEncoder(cfg)
        self.proc_enc = SetEncoder(cfg)
        self.med_enc = SetEncoder(cfg)
        self.profile_enc = ProfileEncoder(cfg)
        self.visit_block = TransformerBlock(cfg.dim, cfg.heads, cfg.ffn_dim, cfg.hidden_dropout, cfg.attention_dropout)
        # Fix/choice: LEADER's visit transformer has no position information at all.
        self.visit_pos = nn.Embedding(cfg.max_visits, cfg.dim) if cfg.visit_positions else None
        self.fc1 = nn.Linear(3 * cfg.dim, cfg.head_hidden)
        self.fc2 = nn.Linear(cfg.head_hidden, cfg.num_labels)
        if cfg.wide:
            self.wide = nn.Parameter(torch.zeros(cfg.num_tokens, cfg.num_labels))
            keep = torch.ones(cfg.num_tokens)
            keep[0] = 0.0  # the pad id is no feature
            self.register_buffer("wide_keep", keep)
        else:
            self.wide = None

    def init_output_bias(self, label_frequency) -> None:
        """Start from the label prior (logit of each label's train frequency) instead of p = 0.5, so the
        first epochs learn the patient-specific signal rather than the base rates."""
        p = torch.as_tensor(label_frequency, dtype=torch.float32).clamp(1e-4, 1 - 1e-4)
        with torch.no_grad():
            self.fc2.bias.copy_(torch.log(p / (1 - p)))

    def wide_logits(self, diag, proc, med, visit_mask) -> torch.Tensor:
        """Multi-hot [B, T] of the target visit's diagnosis/procedure ids and every history medication id
        (a set: repeats count once, as in the logistic-regression baseline) times W [T, M]."""
        last = ((self.visit_positions(visit_mask) == 0).to(torch.float32) * visit_mask).to(diag.dtype).unsqueeze(-1)
        ids = torch.cat([(diag * last).flatten(1), (proc * last).flatten(1), med.flatten(1)], dim=1)
        hot = torch.zeros(ids.shape[0], self.cfg.num_tokens).scatter(1, ids, 1.0) * self.wide_keep
        return hot @ self.wide

    def visit_positions(self, visit_mask: torch.Tensor) -> torch.Tensor:
        """Index of each visit counted from the patient's last real visit (0 = target visit), computed
        from the mask alone, so it holds for any padding side and any batch V."""
        total = visit_mask.sum(dim=1, keepdim=True)
        from_end = total - torch.cumsum(visit_mask, dim=1) + visit_mask - 1.0
        return from_end.clamp(min=0.0, max=float(self.cfg.max_visits - 1)).to(torch.int64)

    def encode(self, diag, proc, med, visit_mask, profile) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns (logits [B,M], hidden [B,128] pre-ReLU, q [B,D])."""
        s_dx = self.diag_enc(self.embedding, diag)
        s_px = self.proc_enc(self.embedding, proc)
        s_med = self.med_enc(self.embedding, med)
        q = self.profile_enc(profile)
        # LEADER's shift: slot 0 (always empty in the data: meds of "visit -1") holds the profile vector.
        s_med = torch.cat([q.unsqueeze(1), s_med[:, 1:]], dim=1)
        if self.visit_pos is not None:
            pos = self.visit_pos(self.visit_positions(visit_mask))
            s_dx, s_px, s_med = s_dx + pos, s_px + pos, s_med + pos
        if packed_path():  # the shared visit block once over the three sequences stacked on the batch axis
            b = visit_mask.shape[0]
            mask3 = visit_mask.repeat(3, 1)
            z3 = masked_mean(self.visit_block(torch.cat([s_dx, s_px, s_med], dim=0), mask3), mask3)
            h = z3.view(3, b, -1).transpose(0, 1).reshape(b, -1)
        else:
            z = [masked_mean(self.visit_block(s, visit_mask), visit_mask) for s in (s_dx, s_px, s_med)]
            h = torch.cat(z, dim=-1)
        hidden = self.fc1(F.relu(h))
        logits = self.fc2(F.relu(hidden))
        if self.wide is not None:
            logits = logits + self.wide_logits(diag, proc, med, visit_mask)
        return logits, hidden, q

    def forward(self, diag, proc, med, visit_mask, profile):
        logits, hidden, _ = self.encode(diag, proc, med, visit_mask, profile)
        return torch.sigmoid(logits), hidden


class StudentEnsemble(nn.Module):
    """Seed averaging in one exported graph: the members' logits are averaged before the sigmoid (and their
    hidden layers averaged), so serving runs one ONNX session with the student's inputs and outputs."""

    def __init__(self, members: List[StudentModel]):
        super().__init__()
        self.members = nn.ModuleList(members)
        self.cfg = members[0].cfg

    def forward(self, diag, proc, med, visit_mask, profile):
        outs = [m.encode(diag, proc, med, visit_mask, profile) for m in self.members]
        logits = torch.stack([o[0] for o in outs]).mean(dim=0)
        hidden = torch.stack([o[1] for o in outs]).mean(dim=0)
        return torch.sigmoid(logits), hidden

    @staticmethod
    def state_from(states: List[dict]) -> dict:
        return {f"members.{i}.{k}": v for i, st in enumerate(states) for k, v in st.items()}


class TrainingHeads(nn.Module):
    """Training-only parameters: profile-alignment projections (Wx, Wy) and the KD projector."""

    def __init__(self, cfg: ModelConfig, teacher_dim: Optional[int]):
        super().__init__()
        self.align_x = nn.Linear(cfg.dim, cfg.dim)
        self.align_y = nn.Linear(cfg.dim, cfg.dim)
        self.kd_proj = nn.Linear(cfg.head_hidden, teacher_dim) if teacher_dim else None


def info_nce(x: torch.Tensor, y: torch.Tensor, tau: float = 1.0) -> torch.Tensor:
    """Symmetric InfoNCE on cosine similarities, positives on the diagonal. The standard denominator
    (all candidates, positive included) fixes LEADER's Contrastive_Loss, which excluded the positive."""
    xn, yn = F.normalize(x, dim=-1), F.normalize(y, dim=-1)
    sim = xn @ yn.t() / tau  # sim[i, j] = cos(x_i, y_j)
    target = torch.arange(sim.shape[0])
    return F.cross_entropy(sim, target) + F.cross_entropy(sim.t(), target)


def alignment_loss(model: StudentModel, heads: TrainingHeads, q: torch.Tensor, label_tokens: torch.Tensor) -> torch.Tensor:
    """Pull the profile vector q towards the encoding of the target visit's true medication set.
    label_tokens [B, L] are TOKEN ids (vocab `atc3:` tokens), the id space of the med set encoder:
    LEADER looked label indices up in the token embedding (off by 3, label 0 treated as padding)."""
    keep = (label_tokens > 0).any(dim=1)
    if int(keep.sum()) < 1:
        return q.new_zeros(())
    g = model.med_enc.encode_sets(model.embedding, label_tokens[keep])
    return info_nce(heads.align_x(g), heads.align_y(q[keep]))


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
