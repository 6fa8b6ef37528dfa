"""An MLX program written against ``mlx`` (not mlxr): trains a small classifier with the
usual idioms (compiled step with captured state, value_and_grad, cosine schedule,
evaluation mode) and prints its losses and accuracy. ``test_programs.py`` runs it with
MLX and with mlxr behind ``mlxr.alias_mlx()`` and compares the output."""

from functools import partial

import numpy as np

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim
from mlx.utils import tree_flatten


class MLP(nn.Module):
    def __init__(self, num_layers, input_dim, hidden_dim, output_dim):
        super().__init__()
        dims = [input_dim] + [hidden_dim] * num_layers + [output_dim]
        self.layers = [nn.Linear(i, o) for i, o in zip(dims[:-1], dims[1:])]
        self.drop = nn.Dropout(0.0)

    def __call__(self, x):
        for layer in self.layers[:-1]:
            x = nn.relu(layer(x))
        return self.layers[-1](self.drop(x))


def main():
    mx.random.seed(42)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((128, 10)).astype(np.float32)
    w = rng.standard_normal((10, 3)).astype(np.float32)
    y = np.argmax(X @ w, axis=1).astype(np.int32)
    X, y = mx.array(X), mx.array(y)

    model = MLP(2, 10, 32, 3)
    mx.eval(model.parameters())
    n_params = sum(v.size for _, v in tree_flatten(model.parameters()))
    schedule = optim.cosine_decay(0.01, 160)
    optimizer = optim.AdamW(learning_rate=schedule, weight_decay=0.01)

    def loss_fn(model, X, y):
        return nn.losses.cross_entropy(model(X), y, reduction="mean")

    state = [model.state, optimizer.state]

    @partial(mx.compile, inputs=state, outputs=state)
    def step(X, y):
        loss_and_grad_fn = nn.value_and_grad(model, loss_fn)
        loss, grads = loss_and_grad_fn(model, X, y)
        optimizer.update(model, grads)
        return loss

    print("params", n_params)
    for epoch in range(40):
        for i in range(0, 128, 32):
            loss = step(X[i:i + 32], y[i:i + 32])
            mx.eval(state)
        if epoch % 10 == 9:
            model.eval()
            acc = mx.mean(mx.argmax(model(X), axis=1) == y)
            model.train()
            print(f"epoch {epoch} loss {loss.item():.5f} acc {acc.item():.4f}")


if __name__ == "__main__":
    main()
    import os
    os._exit(0)
