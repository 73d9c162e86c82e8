"""The test fixture's generator (test/fixtures/onnx.ts): latent [B, in_dim] -> MatMul(patterns) ->
tanh -> image [B, 3, H, W], one weight matrix [in_dim, 3 * H * W] named `patterns`. It lets the
runtimes bench run one model on ONNX Runtime, TF.js and torch alike.

config: in_dim, width, height."""
import torch
from torch import nn


class FixtureDense(nn.Module):
    def __init__(self, in_dim, width, height):
        super().__init__()
        self.width, self.height = width, height
        self.patterns = nn.Parameter(torch.zeros(in_dim, 3 * width * height))

    def forward(self, z, condition=None, truncation=None):
        x = z if condition is None else torch.cat([z, condition], 1)
        return torch.tanh(x @ self.patterns).reshape(-1, 3, self.height, self.width)


def build(config):
    return FixtureDense(int(config["in_dim"]), int(config["width"]), int(config["height"]))
