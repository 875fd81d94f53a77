#!/usr/bin/python3
"""Writes the bundled sample: a tiny transformer's training checkpoint (weights, Adam state, schedule, metadata).

Run with Debian's torch: /usr/bin/python3 resources/samples/make_sample.py
"""
import os
import sys

import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, 4, batch_first=True)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))


class TinyTransformer(nn.Module):
    def __init__(self, vocab=256, d=32, layers=3):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(torch.zeros(64, d))
        self.blocks = nn.ModuleList(Block(d) for _ in range(layers))
        self.norm = nn.BatchNorm1d(d)
        self.head = nn.Linear(d, vocab, bias=False)
        self.head.weight = self.embed.weight  # tied weights share one storage


def main():
    torch.manual_seed(0)
    model = TinyTransformer()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10)
    for _ in range(2):
        x = torch.randint(0, 256, (4, 16))
        h = model.embed(x) + model.pos[:16]
        for b in model.blocks:
            h = h + b.attn(b.ln1(h), b.ln1(h), b.ln1(h))[0]
            h = h + b.mlp(b.ln2(h))
        h = model.norm(h.transpose(1, 2)).transpose(1, 2)
        loss = nn.functional.cross_entropy(model.head(h).flatten(0, 1), x.flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "tiny-transformer.pth")
    torch.save({
        "epoch": 2,
        "global_step": 2,
        "model_state_dict": model.state_dict(),
        "optimizer_state_dict": opt.state_dict(),
        "lr_scheduler": sched.state_dict(),
        "loss": float(loss),
        "config": {"vocab": 256, "d_model": 32, "layers": 3, "heads": 4},
        "torch_version": torch.__version__,
    }, out)


if __name__ == "__main__":
    main()
