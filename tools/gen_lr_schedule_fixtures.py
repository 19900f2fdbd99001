#!/usr/bin/python3
"""Generates the learning-rate factors that src/train/optimizer_test.cpp compares against: transformers'
own schedule lambdas from its optimization.py, step by step, for every lr_scheduler_type tinythink takes.

    /usr/bin/python3 tools/gen_lr_schedule_fixtures.py --transformers-optimization PATH

PATH is src/transformers/optimization.py of a transformers checkout (or site-packages/transformers/
optimization.py). Only its module-level functions named _get_..._lambda are loaded (with `ast`, so torch
and the rest of transformers are not needed). What get_scheduler does around them (defaults, min_lr ->
min_lr_rate, inverse_sqrt's timescale, warmup_stable_decay's stable steps, lr_end / lr_init) is done
here as get_scheduler and the get_*_schedule functions do it; the warmup step count is given, as the
Trainer's get_warmup_steps would give it.

Writes tests/fixtures/lr_schedules/factors.json.
"""
import argparse
import ast
import json
import math
import os
from typing import Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "lr_schedules", "factors.json")


def load_lambdas(path):
    tree = ast.parse(open(path, encoding="utf-8").read())
    body = [node for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name.startswith("_get_") and node.name.endswith("lambda")]
    namespace = {"math": math, "Optional": Optional}
    exec(compile(ast.Module(body=body, type_ignores=[]), path, "exec"), namespace)
    return namespace


def lambda_of(ns, kind, kwargs, warmup, total, lr):
    kw = dict(kwargs)
    if kind == "constant":
        return ns["_get_constant_lambda"]
    if kind == "constant_with_warmup":
        return lambda s: ns["_get_constant_schedule_with_warmup_lr_lambda"](s, num_warmup_steps=warmup)
    if kind == "linear":
        return lambda s: ns["_get_linear_schedule_with_warmup_lr_lambda"](s, num_warmup_steps=warmup,
                                                                          num_training_steps=total)
    if kind == "cosine":
        return lambda s: ns["_get_cosine_schedule_with_warmup_lr_lambda"](
            s, num_warmup_steps=warmup, num_training_steps=total, num_cycles=kw.get("num_cycles", 0.5))
    if kind == "cosine_with_restarts":
        return lambda s: ns["_get_cosine_with_hard_restarts_schedule_with_warmup_lr_lambda"](
            s, num_warmup_steps=warmup, num_training_steps=total, num_cycles=kw.get("num_cycles", 1))
    if kind == "polynomial":
        return lambda s: ns["_get_polynomial_decay_schedule_with_warmup_lr_lambda"](
            s, num_warmup_steps=warmup, num_training_steps=total, lr_end=kw.get("lr_end", 1e-7),
            power=kw.get("power", 1.0), lr_init=lr)
    if kind == "inverse_sqrt":
        return lambda s: ns["_get_inverse_sqrt_schedule_lr_lambda"](s, num_warmup_steps=warmup,
                                                                    timescale=warmup or 10_000)
    if kind in ("cosine_with_min_lr", "cosine_warmup_with_min_lr"):
        rate = kw["min_lr"] / lr if "min_lr" in kw else kw["min_lr_rate"]
        if kind == "cosine_with_min_lr":
            return lambda s: ns["_get_cosine_schedule_with_warmup_lr_lambda"](
                s, num_warmup_steps=warmup, num_training_steps=total, num_cycles=kw.get("num_cycles", 0.5),
                min_lr_rate=rate)
        return lambda s: ns["_get_cosine_with_min_lr_schedule_with_warmup_lr_rate_lambda"](
            s, num_warmup_steps=warmup, num_training_steps=total, num_cycles=kw.get("num_cycles", 0.5),
            min_lr_rate=rate, warmup_lr_rate=kw.get("warmup_lr_rate"))
    if kind == "warmup_stable_decay":
        decay = kw["num_decay_steps"]
        stable = kw.get("num_stable_steps", total - warmup - decay)
        return lambda s: ns["_get_wsd_scheduler_lambda"](
            s, num_warmup_steps=warmup, num_stable_steps=stable, num_decay_steps=decay,
            warmup_type=kw.get("warmup_type", "linear"), decay_type=kw.get("decay_type", "cosine"),
            min_lr_ratio=kw.get("min_lr_ratio", 0), num_cycles=kw.get("num_cycles", 0.5))
    raise ValueError(kind)


CASES = [
    ("constant", {}, 3, 20), ("constant_with_warmup", {}, 3, 20), ("linear", {}, 3, 20), ("linear", {}, 0, 7),
    ("cosine", {}, 3, 20), ("cosine", {"num_cycles": 1.5}, 2, 17), ("cosine", {}, 0, 1),
    ("cosine_with_restarts", {}, 3, 20), ("cosine_with_restarts", {"num_cycles": 3}, 2, 25),
    ("polynomial", {}, 3, 20), ("polynomial", {"lr_end": 1e-5, "power": 2.0}, 4, 21),
    ("inverse_sqrt", {}, 5, 20), ("inverse_sqrt", {}, 0, 20),
    ("cosine_with_min_lr", {"min_lr_rate": 0.1}, 3, 20), ("cosine_with_min_lr", {"min_lr": 2e-5, "num_cycles": 0.25}, 2, 19),
    ("cosine_warmup_with_min_lr", {"min_lr_rate": 0.1}, 4, 20),
    ("cosine_warmup_with_min_lr", {"min_lr": 1e-5, "warmup_lr_rate": 0.2}, 4, 20),
    ("warmup_stable_decay", {"num_decay_steps": 6}, 3, 20),
    ("warmup_stable_decay", {"num_decay_steps": 5, "num_stable_steps": 4, "warmup_type": "cosine",
                             "decay_type": "1-sqrt", "min_lr_ratio": 0.05}, 4, 20),
    ("warmup_stable_decay", {"num_decay_steps": 8, "warmup_type": "1-sqrt", "decay_type": "linear"}, 2, 16),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--transformers-optimization", required=True, help="transformers' optimization.py")
    args = parser.parse_args()
    ns = load_lambdas(args.transformers_optimization)
    lr = 1e-4
    out = []
    for kind, kwargs, warmup, total in CASES:
        f = lambda_of(ns, kind, kwargs, warmup, total, lr)
        out.append({"lr_scheduler_type": kind, "lr_scheduler_kwargs": kwargs, "learning_rate": lr,
                    "warmup_steps": warmup, "total_steps": total,
                    "factors": [float(f(step)) for step in range(total + 3)]})
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as fp:
        json.dump(out, fp, indent=1)
        fp.write("\n")
    print(f"wrote {len(out)} schedules to {OUT}")


if __name__ == "__main__":
    main()
