#!/usr/bin/python3
"""Write tests/fixtures/sft/{nll,dft}/ : 3 SFT optimizer steps (TRL/HF Trainer semantics) of the tiny
llama4 model in tests/fixtures/parity/tiny_llama4, with gradient accumulation and right padding.
Also tests/fixtures/sft/truncate/cases.json: TRL v0.27's truncate_dataset on examples longer and
shorter than max_length; and tests/fixtures/sft/partial/: 2 epochs whose last accumulation is
shorter (transformers' Trainer runs it as a final shorter optimizer step).
Deterministic: rerunning gives identical bytes. Model code: tools/torch_reference.py.

Usage: /usr/bin/python3 tools/gen_sft_fixtures.py [--out tests/fixtures/sft] [--cases nll,dft,truncate,partial]
"""
import argparse
import json
import os
import sys
from collections import OrderedDict

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_reference as ref  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL_DIR = "tests/fixtures/parity/tiny_llama4"

OPT = OrderedDict(lr=1e-3, beta1=0.9, beta2=0.95, eps=1e-8, weight_decay=0.01, max_grad_norm=1.0,
                  warmup_steps=1, total_steps=3, per_device_train_batch_size=2,
                  gradient_accumulation_steps=2, pad_token_id=0)
DATA_SEED = 2024
# Example lengths in file order: micro-batches (9,5) (17,12) (7,14) (6,16) (11,8) (13,10).
LENGTHS = [9, 5, 17, 12, 7, 14, 6, 16, 11, 8, 13, 10]


# ----------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------

def make_examples(vocab):
    """12 examples: tokens in [3, vocab), loss_mask = prompt 0-run then assistant 1-run; every
    third example long enough gets a second turn (0-run, 1-run)."""
    g = torch.Generator().manual_seed(DATA_SEED)
    out = []
    for i, L in enumerate(LENGTHS):
        tokens = torch.randint(3, vocab, (L,), generator=g).tolist()
        prompt = 1 + int(torch.randint(1, 4, (1,), generator=g))  # 2..4 prompt tokens
        prompt = min(prompt, L - 2)
        mask = [0] * prompt + [1] * (L - prompt)
        if i % 3 == 2 and L >= 10:
            # Multi-turn: first answer, then a user turn (0s), then the second answer.
            a1 = 2 + int(torch.randint(0, 2, (1,), generator=g))
            u2 = 2 + int(torch.randint(0, 2, (1,), generator=g))
            mask = [0] * prompt + [1] * a1 + [0] * u2
            mask += [1] * (L - len(mask))
        assert len(mask) == L and mask[0] == 0 and sum(mask) >= 2
        out.append({"tokens": tokens, "loss_mask": mask})
    return out


def targets_of(ex):
    """target[t] = tokens[t+1] if loss_mask[t+1] == 1 else -100; the last position is -100."""
    toks, m = ex["tokens"], ex["loss_mask"]
    return [toks[t + 1] if m[t + 1] == 1 else ref.IGNORE_INDEX for t in range(len(toks) - 1)] + \
        [ref.IGNORE_INDEX]


def micro_batches(examples):
    """File order, groups of per_device_train_batch_size, right-padded with pad_token_id to the
    longest example of the group; padded positions get target -100."""
    bs, pad = OPT["per_device_train_batch_size"], OPT["pad_token_id"]
    out = []
    for s in range(0, len(examples), bs):
        group = examples[s:s + bs]
        T = max(len(e["tokens"]) for e in group)
        ids = torch.full((len(group), T), pad, dtype=torch.int64)
        tgt = torch.full((len(group), T), ref.IGNORE_INDEX, dtype=torch.int64)
        for r, e in enumerate(group):
            L = len(e["tokens"])
            ids[r, :L] = torch.tensor(e["tokens"], dtype=torch.int64)
            tgt[r, :L] = torch.tensor(targets_of(e), dtype=torch.int64)
        out.append((ids, tgt))
    return out


# ----------------------------------------------------------------------------------------------
# Loss
# ----------------------------------------------------------------------------------------------

def token_losses(logits, targets, loss_type):
    """Per-position losses [N] over positions with target != -100 (flattened, row-major)."""
    V = logits.shape[-1]
    lg = logits.reshape(-1, V).float()
    tg = targets.reshape(-1)
    keep = tg != ref.IGNORE_INDEX
    logp = torch.log_softmax(lg[keep], dim=-1).gather(1, tg[keep][:, None])[:, 0]
    if loss_type == "nll":
        return -logp
    if loss_type == "dft":
        return -torch.exp(logp).detach() * logp
    raise ValueError(loss_type)


def summed_loss(arch, params, ids, tgt, loss_type):
    return token_losses(ref.forward(arch, params, ids), tgt, loss_type).sum()


# ----------------------------------------------------------------------------------------------
# Training
# ----------------------------------------------------------------------------------------------

def hf_update_groups(n_batches, ga, epochs):
    """transformers' Trainer (4.56+, TRL 0.27's floor) chunks each epoch's micro-batches into
    updates: total_updates = n // ga + int(remainder < ga), remainder = n % ga or ga; the last update
    of an epoch takes the remainder. max_steps = ceil(epochs * ceil(n / ga)) sizes the schedule."""
    remainder = n_batches % ga or ga
    total_updates = n_batches // ga + int(remainder < ga)
    groups = []
    for _ in range(epochs):
        start = 0
        for u in range(total_updates):
            take = ga if u != total_updates - 1 else remainder
            groups.append(list(range(start, start + take)))
            start += take
    return groups


def train(arch, params, batches, loss_type, groups=None):
    """HF Trainer + TRL SFT: per optimizer step, for each of its micro-batches
    loss_mb = sum(token losses) / num_items_in_batch, backward (grads accumulate); then
    clip_grad_norm_, AdamW step, scheduler step. Returns per-step logs and step-0 grads.
    groups: the micro-batch indices of each step (default: consecutive runs of
    gradient_accumulation_steps for total_steps steps); the schedule spans len(groups) steps."""
    ga = OPT["gradient_accumulation_steps"]
    if groups is None:
        groups = [list(range(s * ga, (s + 1) * ga)) for s in range(OPT["total_steps"])]
    total_steps = len(groups)
    opt = ref.make_optimizer(params, OPT["lr"], (OPT["beta1"], OPT["beta2"]), OPT["eps"],
                             OPT["weight_decay"])
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: ref.cosine_with_warmup(s, OPT["warmup_steps"], total_steps))
    plist = list(params.values())
    losses, norms, lrs, nitems, grad0 = [], [], [], [], None
    for step in range(total_steps):
        mbs = [batches[i] for i in groups[step]]
        n = int(sum(int((t != ref.IGNORE_INDEX).sum()) for _, t in mbs))
        opt.zero_grad(set_to_none=True)
        logged = 0.0
        for ids, tgt in mbs:
            loss_mb = summed_loss(arch, params, ids, tgt, loss_type) / n
            loss_mb.backward()
            logged += loss_mb.item()
        if step == 0:
            grad0 = OrderedDict((k, t.grad.detach().clone()) for k, t in params.items())
        gn = torch.nn.utils.clip_grad_norm_(plist, OPT["max_grad_norm"])
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
        losses.append(logged)
        norms.append(gn.item())
        nitems.append(n)
    return losses, norms, lrs, nitems, grad0


def step0_unpadded(arch, params, examples, loss_type):
    """Self-check: step-0 loss from single unpadded per-example forwards, summed over the first
    effective batch, divided by its total count of targets."""
    k = OPT["per_device_train_batch_size"] * OPT["gradient_accumulation_steps"]
    total, count = 0.0, 0
    with torch.no_grad():
        for e in examples[:k]:
            ids = torch.tensor([e["tokens"]], dtype=torch.int64)
            tgt = torch.tensor([targets_of(e)], dtype=torch.int64)
            tl = token_losses(ref.forward(arch, params, ids), tgt, loss_type).double()
            total += tl.sum().item()
            count += tl.numel()
    return total / count


# ----------------------------------------------------------------------------------------------
# Output
# ----------------------------------------------------------------------------------------------

def write_examples(d, examples):
    with open(os.path.join(d, "examples.jsonl"), "w") as fh:
        for e in examples:
            fh.write(json.dumps(OrderedDict(tokens=e["tokens"], loss_mask=e["loss_mask"])) + "\n")


def make_case(loss_type, out_root):
    mdir = os.path.join(ROOT, MODEL_DIR)
    with open(os.path.join(mdir, "config.json")) as fh:
        cfg = json.load(fh)
    arch = ref.Arch(cfg)
    weights, _ = ref.load_safetensors(os.path.join(mdir, "model.safetensors"))
    params = OrderedDict((n, weights[n].clone().requires_grad_(True))
                         for n in arch.param_shapes())
    if set(params) != set(weights):
        raise SystemExit("model.safetensors names differ from the architecture's")

    examples = make_examples(arch.vocab)
    need = OPT["per_device_train_batch_size"] * OPT["gradient_accumulation_steps"] * \
        OPT["total_steps"]
    assert len(examples) == need
    batches = micro_batches(examples)

    check = step0_unpadded(arch, params, examples, loss_type)
    losses, norms, lrs, nitems, grad0 = train(arch, params, batches, loss_type)
    err = abs(check - losses[0])
    if not err <= 1e-6:
        raise SystemExit("SELF-CHECK FAILED (%s): padded batched step-0 loss %.9f vs unpadded "
                         "per-example %.9f" % (loss_type, losses[0], check))

    d = os.path.join(out_root, loss_type)
    os.makedirs(d, exist_ok=True)
    write_examples(d, examples)

    r = OrderedDict()
    r["losses"] = torch.tensor(losses, dtype=torch.float32)
    r["grad_norms"] = torch.tensor(norms, dtype=torch.float32)
    r["num_items"] = torch.tensor(nitems, dtype=torch.int64)
    for k, (ids, tgt) in enumerate(batches):
        r["batch.%d.input_ids" % k] = ids
        r["batch.%d.targets" % k] = tgt
    for n, g in grad0.items():
        r["grad0." + n] = g
    for n, t in params.items():
        r["final." + n] = t.detach()
    meta = OrderedDict((k, repr(v) if isinstance(v, float) else str(v)) for k, v in OPT.items())
    meta["loss_type"] = loss_type
    meta["lrs"] = json.dumps(lrs)
    meta["num_items_in_batch"] = json.dumps(nitems)
    meta["model"] = MODEL_DIR
    meta["scheduler"] = "cosine"
    meta["no_decay"] = "parameters whose name contains 'norm'"
    meta["clip"] = "torch.nn.utils.clip_grad_norm_: coef = min(1, max_norm / (norm + 1e-6))"
    meta["optimizer"] = "torch.optim.AdamW (decoupled decay: p *= 1 - lr*wd; bias-corrected moments)"
    meta["torch"] = torch.__version__.split("+")[0]
    path = os.path.join(d, "reference.safetensors")
    ref.save_safetensors(path, r, meta)

    back, bmeta = ref.load_safetensors(path)
    for n, t in r.items():
        if not torch.equal(back[n], t.detach()):
            raise SystemExit("safetensors round trip failed for " + n)
    assert bmeta["lrs"] == meta["lrs"]

    size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
    print("%s: losses %s" % (loss_type, ", ".join("%.7f" % v for v in losses)))
    print("   grad norms %s (clip at %g); num_items %s; lrs %s"
          % (", ".join("%.5f" % v for v in norms), OPT["max_grad_norm"], nitems, lrs))
    print("   self-check step-0 unpadded %.9f, |diff| %.2e; folder %d bytes" % (check, err, size))


def trl_truncate(example, max_length):
    """TRL v0.27 truncate_dataset (trl/data_utils.py): every list column becomes val[:max_length]
    (pyarrow list_slice(column, 0, max_length) for Arrow datasets, the same slice)."""
    return {k: v[:max_length] for k, v in example.items()}


def make_truncation_case(out_root):
    """Examples of 5..40 tokens (loss mask: prompt 0-run, answer 1-run), each truncated at several
    max_length values, among them shorter, equal and longer than the example."""
    g = torch.Generator().manual_seed(DATA_SEED + 7)
    cases = []
    for L in (5, 12, 17, 40):
        tokens = torch.randint(3, 200, (L,), generator=g).tolist()
        prompt = 1 + int(torch.randint(1, max(2, L // 2), (1,), generator=g))
        mask = [0] * prompt + [1] * (L - prompt)
        for max_length in sorted({2, prompt, L - 1, L, L + 3, 16}):
            cut = trl_truncate({"input_ids": tokens, "completion_mask": mask}, max_length)
            cases.append(OrderedDict(max_length=max_length, input_ids=tokens, completion_mask=mask,
                                     expected_input_ids=cut["input_ids"],
                                     expected_completion_mask=cut["completion_mask"],
                                     truncated=len(tokens) > max_length))
    d = os.path.join(out_root, "truncate")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "cases.json"), "w") as fh:
        json.dump(OrderedDict(source="trl v0.27 truncate_dataset: val[:max_length] per column",
                              cases=cases), fh, indent=1)
        fh.write("\n")
    print("truncate: %d cases" % len(cases))


PARTIAL = OrderedDict(gradient_accumulation_steps=4, num_train_epochs=2)


def make_partial_case(out_root):
    """The 12 nll examples as 6 micro-batches of 2 with gradient_accumulation_steps 4 for 2 epochs
    (dataset order): each epoch is one update of 4 micro-batches and a final shorter one of 2, so 4
    optimizer steps, the cosine schedule over 4 steps."""
    mdir = os.path.join(ROOT, MODEL_DIR)
    with open(os.path.join(mdir, "config.json")) as fh:
        arch = ref.Arch(json.load(fh))
    weights, _ = ref.load_safetensors(os.path.join(mdir, "model.safetensors"))
    params = OrderedDict((n, weights[n].clone().requires_grad_(True)) for n in arch.param_shapes())
    examples = make_examples(arch.vocab)
    batches = micro_batches(examples)
    groups = hf_update_groups(len(batches), PARTIAL["gradient_accumulation_steps"],
                              PARTIAL["num_train_epochs"])
    losses, norms, lrs, nitems, _ = train(arch, params, batches, "nll", groups)
    d = os.path.join(out_root, "partial")
    os.makedirs(d, exist_ok=True)
    write_examples(d, examples)
    r = OrderedDict()
    r["losses"] = torch.tensor(losses, dtype=torch.float32)
    r["grad_norms"] = torch.tensor(norms, dtype=torch.float32)
    r["num_items"] = torch.tensor(nitems, dtype=torch.int64)
    for n, t in params.items():
        r["final." + n] = t.detach()
    meta = OrderedDict((k, repr(v) if isinstance(v, float) else str(v)) for k, v in OPT.items())
    meta.update((k, str(v)) for k, v in PARTIAL.items())
    meta["total_steps"] = str(len(groups))
    meta["loss_type"] = "nll"
    meta["update_groups"] = json.dumps(groups)
    meta["lrs"] = json.dumps(lrs)
    meta["num_items_in_batch"] = json.dumps(nitems)
    meta["model"] = MODEL_DIR
    meta["scheduler"] = "cosine"
    meta["torch"] = torch.__version__.split("+")[0]
    ref.save_safetensors(os.path.join(d, "reference.safetensors"), r, meta)
    print("partial: groups %s; losses %s; lrs %s" % (groups, ", ".join("%.7f" % v for v in losses), lrs))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "sft"))
    ap.add_argument("--cases", default="nll,dft,truncate,partial", help="comma-separated: nll, dft, truncate, partial")
    args = ap.parse_args()
    torch.set_num_threads(1)  # bit-reproducible reductions
    torch.use_deterministic_algorithms(True)
    for case in args.cases.split(","):
        if case == "truncate":
            make_truncation_case(args.out)
        elif case == "partial":
            make_partial_case(args.out)
        else:
            make_case(case, args.out)


if __name__ == "__main__":
    main()
