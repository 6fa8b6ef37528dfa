"""Regenerate the test fixtures that come from MLX itself (mlx==0.32.4, CPU).

Run from the repository root: python3 scripts/fixtures.py
"""
import os
import mlx.core as mx

HERE = os.path.join(os.path.dirname(__file__), "..", "crates", "mlxr", "tests", "fixtures")


def promotion():
    names = ["bool_", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32",
             "int64", "float16", "bfloat16", "float32", "float64", "complex64"]
    lines = []
    for a in names:
        for b in names:
            x = mx.zeros((1,), dtype=getattr(mx, a))
            y = mx.zeros((1,), dtype=getattr(mx, b))
            c = (x + y).dtype
            lines.append(f"{str(getattr(mx, a)).split('.')[-1]} {str(getattr(mx, b)).split('.')[-1]} {str(c).split('.')[-1]}")
    with open(os.path.join(HERE, "promotion.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    os.makedirs(HERE, exist_ok=True)
    promotion()
