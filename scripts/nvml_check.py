"""Check the NVML energy meter on an NVIDIA GPU: energy idle, under bf16 matrix products, idle.

Run on a machine with a GPU, torch with CUDA and nvidia-ml-py: `python scripts/nvml_check.py`.
On an H200 (2026-11-28) it printed 79 W idle, 609 W under load and 132 W in the 3 s after.
"""

import time

import torch

from profiles.energy import choose_meter

m = choose_meter("nvml")
print("meter:", m.describe())


def busy(s: float) -> int:
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    end, n = time.time() + s, 0
    while time.time() < end:
        a @ a
        n += 1
        torch.cuda.synchronize()
    return n


for name, fn in (("idle", time.sleep), ("matmul", busy), ("idle", time.sleep)):
    e0, t0 = m.read_j(), time.time()
    out = fn(3.0)
    j, t = m.read_j() - e0, time.time() - t0
    note = f" ({out} products)" if out else ""
    print(f"{name:7s} {j:8.1f} J in {t:.2f} s = {j / t:6.1f} W{note}")
