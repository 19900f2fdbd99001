#!/usr/bin/python3
"""Generates the fixture src/train/lr_schedule_test.cpp compares reduce_lr_on_plateau against: torch's
ReduceLROnPlateau (what transformers' get_scheduler builds for lr_scheduler_type reduce_lr_on_plateau,
with lr_scheduler_kwargs passed as they are), stepped with a sequence of evaluation metrics, the
optimizer's learning rate and the scheduler's state recorded after every step.

    /usr/bin/python3 tools/gen_plateau_fixtures.py      (Debian: python3-torch)

Writes tests/fixtures/lr_schedules/plateau.json. A NaN metric is written as null.
"""
import json
import math
import os
import random

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "lr_schedules", "plateau.json")


def run(learning_rate, kwargs, metrics):
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.AdamW([param], lr=learning_rate)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, **kwargs)
    steps = []
    for m in metrics:
        scheduler.step(float("nan") if m is None else m)
        best = scheduler.best
        steps.append({
            "lr": optimizer.param_groups[0]["lr"],
            "best": best if math.isfinite(best) else None,
            "num_bad_epochs": scheduler.num_bad_epochs,
            "cooldown_counter": scheduler.cooldown_counter,
        })
    return {"learning_rate": learning_rate, "kwargs": kwargs, "metrics": metrics, "steps": steps}


def main():
    rng = random.Random(7)
    falling_then_flat = [2.0 - 0.1 * i for i in range(8)] + [1.3 + 0.001 * (i % 3) for i in range(30)]
    noisy = [round(1.0 + rng.uniform(-0.2, 0.2) - 0.01 * i, 4) for i in range(40)]
    rising = [0.1 * i + rng.uniform(-0.05, 0.05) for i in range(30)]
    cases = [
        run(2e-5, {}, falling_then_flat),
        run(1e-3, {"factor": 0.5, "patience": 2}, noisy),
        run(1e-3, {"mode": "max", "factor": 0.5, "patience": 1, "threshold": 0.1, "threshold_mode": "abs",
                   "cooldown": 2, "min_lr": 2e-4}, rising[::-1] + rising),
        run(5e-3, {"factor": 0.9, "patience": 0, "eps": 1e-3}, [1.0] * 25),
        run(1e-3, {"patience": 1, "threshold": 0.05, "threshold_mode": "rel", "cooldown": 1},
            [1.0, None, 0.99, None, None, 0.5, 0.49, 0.48, None, 0.2] * 3),
        run(1e-3, {"mode": "max", "patience": 3, "threshold": 0.0}, [0.5, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.7] * 4),
    ]
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump({"torch": torch.__version__, "cases": cases}, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT}: {len(cases)} cases (torch {torch.__version__})")


if __name__ == "__main__":
    main()
