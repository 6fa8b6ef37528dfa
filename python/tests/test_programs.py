"""MLX programs run unchanged on mlxr (through ``mlxr.alias_mlx()``) and print what they
print on MLX."""

import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def run(path, alias):
    prelude = "import mlxr; mlxr.alias_mlx(); " if alias else ""
    code = f"{prelude}import runpy; runpy.run_path({path!r}, run_name='__main__')"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


@pytest.mark.parametrize("program", ["mlp_classifier.py"])
def test_program_matches_mlx(program, mlx):
    path = os.path.join(HERE, "programs", program)
    ours, ref = run(path, True), run(path, False)
    assert len(ours) == len(ref)
    for a, b in zip(ours, ref):
        ta, tb = a.split(), b.split()
        assert ta[0] == tb[0]
        for x, y in zip(ta[1:], tb[1:]):
            try:
                assert float(x) == pytest.approx(float(y), rel=2e-3, abs=2e-4), (a, b)
            except ValueError:
                assert x == y
