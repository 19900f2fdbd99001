#!/usr/bin/python3
"""Write tests/fixtures/dpo/<loss_type>/ : preference optimisation (TRL DPOTrainer / CPOTrainer
semantics, written from the formulas in ../shared/DESIGN.md section 4) on the tiny llama4 model in
tests/fixtures/parity/tiny_llama4. Deterministic: rerunning gives identical bytes.

Per loss type:
  pairs.jsonl            12 pre-tokenized pairs {"prompt_ids", "chosen_ids", "rejected_ids"}
  reference.safetensors  step1.*: the first effective batch (4 pairs, 2 micro-batches of 2) with
                         explicit reference log-probs (the start model's, shifted by fixed offsets so
                         that rewards are not all zero): policy logps, loss, rewards and every
                         parameter gradient of the mean loss (before clipping); for bco_pair also
                         step1.baselines, the running reward mean each micro-batch used;
                         losses / grad_norms: 3 optimizer steps where the reference is the start model
                         (as the trainer computes it), AdamW + cosine warmup + clipping.

sigmoid_keep: sigmoid with a pair whose chosen == rejected and one whose chosen is only EOS (an
  empty completion), both kept and trained on as TRL does.
simpo_cpo: simpo with CPOTrainer's cpo_alpha = 1.0: each micro-batch's loss is
  losses.mean() + cpo_alpha * nll, nll = nn.CrossEntropyLoss (token mean) over the micro-batch's chosen
  completion tokens; step1.nll holds each micro-batch's nll and step1.loss their mean with the losses.
exo_pair, nca_pair, sppo_hard, discopop: TRL 0.27.2 DPOTrainer.dpo_loss (exo_pair with label_smoothing 0,
  which TRL replaces by 1e-3; discopop with discopop_tau 0.05).
sft: DPOTrainer's loss_type "sft": the loss is nll_loss, F.cross_entropy(chosen logits, labels,
  ignore_index=0) with labels 0 outside the completion (so a completion token of id 0 is not counted:
  pairs 1 and 6 hold one);
  step1.pair_losses holds the pairs' part, 0 (TRL's per-pair losses are nll_loss itself).
sigmoid_rpo: sigmoid with rpo_alpha 0.5: + rpo_alpha * nll_loss (the same DPO nll) per micro-batch.
sigmoid_free: sigmoid with reference_free: the loss's log-ratios drop the reference, the rewards keep
  it (TRL still runs the reference model for them).
aot, aot_pair: TRL 0.27.2's AOT losses, which sort log-ratios across each micro-batch (paired: the
  policy's and the reference's chosen - rejected; aot_pair: the chosen and the rejected log-ratios);
  step1.pair_losses holds each micro-batch's losses in TRL's order (by sorted position).
mpo: loss_type [sigmoid, bco_pair, sft] with loss_weights [0.8, 0.2, 1.0] (the MPO recipe):
  DPOTrainer.get_batch_loss_metrics sums each loss times its weight, and the rewards likewise (so
  they are (0.8 + 0.2 + 1.0) x beta (logp - ref)); the sft part is nll_loss times its weight.
sigmoid_js, hinge_alpha: TRL 0.27's f_divergence_type js_divergence (sigmoid, label_smoothing 0.1) and
  alpha_divergence with f_alpha_divergence_coef 0.5 (hinge): dpo_loss's `logits` become
  z - (softplus(r_c) - softplus(r_r)) and (cap_exp(-a r_r) - cap_exp(-a r_c)) / a.
sigmoid_ld: sigmoid (label_smoothing 0.1) with LD-DPO's ld_alpha 0.5 as TRL 0.29+ computes it: a
  completion's log-prob is the sum over its first min(chosen, rejected) completion tokens plus
  ld_alpha x the rest, for the policy and the reference (TRL 0.27/0.28 indexed the row's positions,
  prompt included, and left the reference unweighted: a bug fixed in 0.29).
wpo: loss_type [sigmoid, sft] (label_smoothing 0.1) with use_weighting, WPO as TRL 0.29+ computes
  it: each pair's loss times exp(mean_t(logp_t - log sum_v p_v^2)) of its chosen row times its
  rejected row's (detached); the sft part, nll_loss expanded per pair, weighs the mean pair weight.
sigmoid_tr: sigmoid (label_smoothing 0.1) with TR-DPO's sync_ref_model, ref_model_mixup_alpha 0.6 and
  ref_model_sync_steps 1: after every optimizer step the reference model becomes
  0.6 x the policy + 0.4 x itself (TRL's SyncRefModelCallback: ref.mul_(1 - a).add_(policy, alpha=a)),
  and the next steps' reference log-probs are the moved model's; step1 is sigmoid_tr's with explicit
  reference log-probs as for every case.
ipo_sigmoid: loss_type [ipo, sigmoid], loss_weights null (1 each): "ipo" in the list makes every
  loss see length-averaged log-probs (concatenated_forward), and the rewards are 2 beta (logp - ref).

Usage: /usr/bin/python3 tools/gen_dpo_fixtures.py [--out tests/fixtures/dpo] [--cases simpo_cpo,...]
"""
import argparse
import json
import math
import os
import sys
from collections import OrderedDict

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_reference as ref  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL_DIR = "tests/fixtures/parity/tiny_llama4"

OPT = OrderedDict(lr=1e-3, beta1=0.9, beta2=0.95, eps=1e-8, weight_decay=0.01, max_grad_norm=1.0,
                  warmup_steps=1, total_steps=3, per_device_train_batch_size=2,
                  gradient_accumulation_steps=2, pad_token_id=0)
NUM_PAIRS = 12
DATA_SEED = 77
EOS = 2

# loss_type -> (beta, label_smoothing, simpo_gamma)
CASES = OrderedDict([
    ("sigmoid", (0.5, 0.1, 0.5)),
    ("apo_zero", (0.5, 0.0, 0.5)),
    ("apo_down", (0.5, 0.0, 0.5)),
    ("ipo", (0.5, 0.0, 0.5)),
    ("hinge", (0.5, 0.0, 0.5)),
    ("simpo", (2.0, 0.0, 0.5)),
    ("robust", (0.5, 0.1, 0.5)),
    ("bco_pair", (0.5, 0.0, 0.5)),
    ("simpo_cpo", (2.0, 0.0, 0.5)),
    ("sigmoid_keep", (0.5, 0.1, 0.5)),
    ("exo_pair", (0.5, 0.0, 0.5)),
    ("nca_pair", (0.5, 0.0, 0.5)),
    ("sppo_hard", (0.5, 0.0, 0.5)),
    ("discopop", (0.5, 0.0, 0.5)),
    ("sft", (0.5, 0.0, 0.5)),
    ("sigmoid_rpo", (0.5, 0.0, 0.5)),
    ("sigmoid_free", (0.5, 0.1, 0.5)),
    ("aot", (0.5, 0.1, 0.5)),
    ("aot_pair", (0.5, 0.1, 0.5)),
    ("mpo", (0.5, 0.0, 0.5)),
    ("ipo_sigmoid", (0.5, 0.0, 0.5)),
    ("sigmoid_js", (0.5, 0.1, 0.5)),
    ("hinge_alpha", (0.5, 0.0, 0.5)),
    ("sigmoid_ld", (0.5, 0.1, 0.5)),
    ("wpo", (0.5, 0.1, 0.5)),
    ("sigmoid_tr", (0.5, 0.1, 0.5)),
])
# A folder whose name is not its loss type, and CPOTrainer's cpo_alpha (the weight of the chosen
# completions' NLL, default 1.0 in TRL; the "simpo" folder is pure SimPO, cpo_alpha 0, as TRL's
# AlphaPO/SimPO recipes set it).
CASE_LOSS = {"simpo_cpo": "simpo", "sigmoid_keep": "sigmoid", "sigmoid_rpo": "sigmoid", "sigmoid_free": "sigmoid",
             "sigmoid_js": "sigmoid", "hinge_alpha": "hinge", "sigmoid_ld": "sigmoid", "sigmoid_tr": "sigmoid"}
LD_ALPHA = {"sigmoid_ld": 0.5}
# TRL 0.27's f_divergence_type and f_alpha_divergence_coef
F_DIVERGENCE = {"sigmoid_js": ("js_divergence", 1.0), "hinge_alpha": ("alpha_divergence", 0.5)}
F_DIVERGENCE_NONE = ("reverse_kl", 1.0)
CPO_ALPHA = {"simpo_cpo": 1.0}
# DPOTrainer's nll_loss weight: rpo_alpha, and 1 for the sft loss type (its whole loss)
RPO_ALPHA = {"sigmoid_rpo": 0.5}
DPO_NLL_WEIGHT = {"sigmoid_rpo": 0.5, "sft": 1.0}
REFERENCE_FREE = {"sigmoid_free"}
# DPOConfig's list of loss types and their loss_weights (None: 1 each)
LOSS_LISTS = {"mpo": (["sigmoid", "bco_pair", "sft"], [0.8, 0.2, 1.0]), "ipo_sigmoid": (["ipo", "sigmoid"], None),
              "wpo": (["sigmoid", "sft"], None)}
USE_WEIGHTING = {"wpo"}
# TR-DPO: (ref_model_mixup_alpha, ref_model_sync_steps)
SYNC_REF_MODEL = {"sigmoid_tr": (0.6, 1)}
DISCOPOP_TAU = 0.05


class RunningMoments:
    """Running mean/variance of a stream (TRL's trl.trainer.utils.RunningMoments, v0.27): Chan et
    al.'s parallel update, starting at mean 0, var 1, count 1e-24. bco_pair feeds it one sample per
    micro-batch, the mean of the micro-batch's chosen and rejected rewards."""

    def __init__(self):
        self.mean, self.var, self.count = 0.0, 1.0, 1e-24

    def update(self, xs):
        xs = xs.reshape(-1).double()
        n = xs.numel()
        x_mean = xs.mean().item()
        x_var = ((xs - x_mean) ** 2).mean().item()
        delta = x_mean - self.mean
        total = self.count + n
        total_sum = self.var * self.count + delta ** 2 * self.count * n / total + x_var * n
        self.mean += delta * n / total
        self.var = total_sum / total
        self.count = total


def make_pairs(vocab):
    """Prompts of 2..6 tokens, completions of 2..8 tokens ending with EOS (as TRL appends it);
    chosen and rejected differ."""
    g = torch.Generator().manual_seed(DATA_SEED)
    out = []
    for _ in range(NUM_PAIRS):
        lp = int(torch.randint(2, 7, (1,), generator=g))
        prompt = torch.randint(3, vocab, (lp,), generator=g).tolist()
        comp = []
        for _ in range(2):
            lc = int(torch.randint(1, 8, (1,), generator=g))
            comp.append(torch.randint(3, vocab, (lc,), generator=g).tolist() + [EOS])
        assert comp[0] != comp[1]
        out.append(OrderedDict(prompt_ids=prompt, chosen_ids=comp[0], rejected_ids=comp[1]))
    return out


def keep_degenerate(pairs):
    """sigmoid_keep: pair 1 has rejected == chosen, pair 2 an empty completion (TRL tokenizes "" to
    [EOS]); TRL's DPOTrainer keeps both (tokenize_row filters nothing), so they count in the
    first effective batch like any pair."""
    pairs[1]["rejected_ids"] = list(pairs[1]["chosen_ids"])
    pairs[2]["chosen_ids"] = [EOS]
    return pairs


def with_token_zero(pairs):
    """sft, sigmoid_rpo: token id 0 inside two chosen completions (pairs 1 and 6), which DPOTrainer's
    nll_loss does not count (its ignore_index is 0) while the log-probs do."""
    pairs[1]["chosen_ids"][1] = 0
    pairs[6]["chosen_ids"][0] = 0
    return pairs


PAIR_EDITS = {"sigmoid_keep": keep_degenerate, "sft": with_token_zero, "sigmoid_rpo": with_token_zero}


def pair_batch(pairs):
    """Rows [chosen_1..chosen_B, rejected_1..rejected_B] = prompt + completion, right-padded;
    target[t] = ids[t+1] where t+1 is a completion position, else -100."""
    rows = [p["prompt_ids"] + p["chosen_ids"] for p in pairs] + \
           [p["prompt_ids"] + p["rejected_ids"] for p in pairs]
    starts = [len(p["prompt_ids"]) for p in pairs] * 2
    T = max(len(r) for r in rows)
    ids = torch.full((len(rows), T), OPT["pad_token_id"], dtype=torch.int64)
    tgt = torch.full((len(rows), T), ref.IGNORE_INDEX, dtype=torch.int64)
    for i, (r, s) in enumerate(zip(rows, starts)):
        ids[i, :len(r)] = torch.tensor(r)
        for t in range(s - 1, len(r) - 1):
            tgt[i, t] = r[t + 1]
    return ids, tgt


def sequence_logps(arch, params, pairs, average, with_nll=False, ld_alpha=None):
    """(chosen, rejected) log-probs [B] summed over completion tokens, or averaged (ipo, simpo);
    ld_alpha: LD-DPO's shared part + ld_alpha x the tail (TRL 0.29+'s comp_pos masks);
    with_nll: also CPOTrainer's nll, the token-mean cross-entropy over the chosen rows' targets."""
    ids, tgt = pair_batch(pairs)
    logits = ref.forward(arch, params, ids).float()
    keep = tgt != ref.IGNORE_INDEX
    safe = torch.where(keep, tgt, torch.zeros_like(tgt))
    lp = torch.log_softmax(logits, dim=-1).gather(2, safe[..., None])[..., 0]
    lp = torch.where(keep, lp, torch.zeros_like(lp))
    s = lp.sum(-1)
    if ld_alpha is not None:
        comp_pos = keep.long().cumsum(dim=1)
        chosen_lens, rejected_lens = keep.long().sum(dim=1).chunk(2, dim=0)
        shared = torch.minimum(chosen_lens, rejected_lens)
        shared = torch.cat([shared, shared], dim=0)
        shared_mask = (comp_pos > 0) & (comp_pos <= shared.unsqueeze(1))
        tail_mask = comp_pos > shared.unsqueeze(1)
        s = (lp * shared_mask).sum(-1) + ld_alpha * (lp * tail_mask).sum(-1)
    if average:
        s = s / keep.sum(-1)
    B = len(pairs)
    # WPO's pair weights (TRL 0.29+): exp(mean over the completion of logp_t - log sum_v p_v^2) of
    # the chosen row times the rejected row's, detached
    with torch.no_grad():
        log_denom = torch.logsumexp(2.0 * logits, dim=-1) - 2.0 * torch.logsumexp(logits, dim=-1)
        aligned = (lp - log_denom) * keep
        weights = torch.exp(aligned.sum(-1) / keep.sum(-1).clamp(min=1))
    sequence_logps.wpo = weights[:B] * weights[B:]
    if with_nll:
        V = logits.shape[-1]
        if with_nll == "dpo":  # DPOTrainer: labels 0 outside the completion, ignore_index=0
            nll = F.cross_entropy(logits[:B].reshape(-1, V), safe[:B].reshape(-1), ignore_index=0)
        else:  # CPOTrainer: the prompt's -100 ignored
            nll = torch.nn.CrossEntropyLoss()(logits[:B].reshape(-1, V), tgt[:B].reshape(-1))
        # TRL 0.27's logits/chosen, logits/rejected: logits[:B][loss_mask[:B]].mean() (its rolled
        # loss mask is `keep`: position t is scored when token t+1 is a completion token).
        mean_logits = (logits[:B][keep[:B]].mean().detach(), logits[B:][keep[B:]].mean().detach())
        return s[:B], s[B:], nll, mean_logits
    return s[:B], s[B:]


def cap_exp(x):
    """TRL's cap_exp for float32: exp(min(x, floor(log(float32 max) * 1e4) / 1e4))."""
    cap = math.floor(math.log(torch.finfo(torch.float32).max) * 1e4) / 1e4
    return torch.exp(torch.clamp(x, max=cap))


def pair_losses(loss_type, beta, eps, gamma, pc, pr, rc, rr, running=None, reference_free=False,
                f_divergence=F_DIVERGENCE_NONE):
    """Per-pair losses and rewards (TRL DPOTrainer.dpo_loss; simpo as CPOTrainer). bco_pair updates
    `running` with this micro-batch's rewards first. reference_free zeroes the reference in the
    log-ratios of the losses that use them (TRL's chosen_logratios / logits), not in the rewards."""
    if loss_type == "simpo":
        z = pc - pr - gamma / beta
        losses = -F.logsigmoid(beta * z) * (1 - eps) - F.logsigmoid(-beta * z) * eps
        return losses, beta * pc.detach(), beta * pr.detach()
    rewards = beta * (pc - rc).detach(), beta * (pr - rr).detach()
    free = 0.0 if reference_free else 1.0
    c, r = pc - free * rc, pr - free * rr
    z = c - r  # dpo_loss's `logits`
    if f_divergence[0] == "alpha_divergence":
        a = f_divergence[1]
        z = (cap_exp(r * -a) - cap_exp(c * -a)) / a
    elif f_divergence[0] == "js_divergence":
        z = z - (F.softplus(c) - F.softplus(r))
    if loss_type == "sigmoid":
        losses = -F.logsigmoid(beta * z) * (1 - eps) - F.logsigmoid(-beta * z) * eps
    elif loss_type == "hinge":
        losses = torch.relu(1 - beta * z)
    elif loss_type == "ipo":
        losses = (z - 1 / (2 * beta)) ** 2
    elif loss_type == "apo_zero":
        losses = (1 - torch.sigmoid(beta * c)) + torch.sigmoid(beta * r)
    elif loss_type == "apo_down":
        losses = torch.sigmoid(beta * c) + (1 - torch.sigmoid(beta * (c - r)))
    elif loss_type == "robust":
        losses = (-F.logsigmoid(beta * z) * (1 - eps) + F.logsigmoid(-beta * z) * eps) / (1 - 2 * eps)
    elif loss_type == "bco_pair":
        running.update(torch.cat((beta * c, beta * r)).detach())
        delta = running.mean
        losses = -F.logsigmoid(beta * c - delta) - F.logsigmoid(-(beta * r - delta))
    elif loss_type == "exo_pair":
        e = eps if eps != 0 else 1e-3
        losses = (beta * z).sigmoid() * (F.logsigmoid(beta * z) - math.log(1 - e)) + \
            (-beta * z).sigmoid() * (F.logsigmoid(-beta * z) - math.log(e))
    elif loss_type == "nca_pair":  # the reference read directly
        cr, rr_ = (pc - rc) * beta, (pr - rr) * beta
        losses = -F.logsigmoid(cr) - 0.5 * F.logsigmoid(-cr) - 0.5 * F.logsigmoid(-rr_)
    elif loss_type == "sppo_hard":  # the reference read directly
        a, b = pc - rc, pr - rr
        losses = (a - 0.5 / beta) ** 2 + (b + 0.5 / beta) ** 2
    elif loss_type == "discopop":  # the reference log-ratio read directly
        logits = beta * ((pc - pr) - (rc - rr))
        m = torch.sigmoid(logits / DISCOPOP_TAU)
        losses = -F.logsigmoid(logits) * (1 - m) + torch.exp(-logits) * m
    elif loss_type == "sft":  # the loss is nll_loss, added by the caller
        losses = torch.zeros_like(pc)
    elif loss_type in ("aot", "aot_pair"):  # the reference read directly; sorted across the micro-batch
        if loss_type == "aot":
            a, b = torch.sort(pc - pr, dim=0)[0], torch.sort(rc - rr, dim=0)[0]
        else:
            a, b = torch.sort(pc - rc, dim=0)[0], torch.sort(pr - rr, dim=0)[0]
        delta = a - b
        losses = -F.logsigmoid(beta * delta) * (1 - eps) - F.logsigmoid(-beta * delta) * eps
    else:
        raise ValueError(loss_type)
    return losses, rewards[0], rewards[1]


def weighted_losses(types, weights, beta, eps, gamma, pc, pr, rc, rr, running=None, reference_free=False,
                    f_divergence=F_DIVERGENCE_NONE):
    """DPOTrainer.get_batch_loss_metrics over a list of loss types: sum of each one's losses and
    rewards times its weight."""
    total, rew_c, rew_r = 0, 0, 0
    for t, w in zip(types, weights):
        l, c, r = pair_losses(t, beta, eps, gamma, pc, pr, rc, rr, running, reference_free, f_divergence)
        total, rew_c, rew_r = total + w * l, rew_c + w * c, rew_r + w * r
    return total, rew_c, rew_r


def load_params(arch):
    weights, _ = ref.load_safetensors(os.path.join(ROOT, MODEL_DIR, "model.safetensors"))
    return OrderedDict((n, weights[n].clone().requires_grad_(True)) for n in arch.param_shapes())


def make_case(case, out_root):
    beta, eps, gamma = CASES[case]
    loss_type = CASE_LOSS.get(case, case)
    types, weights = LOSS_LISTS.get(case, ([loss_type], None))
    weights_or_ones = weights or [1.0] * len(types)
    alpha = CPO_ALPHA.get(case, 0.0)
    dpo_nll = DPO_NLL_WEIGHT.get(case, 0.0) + sum(w for t, w in zip(types, weights_or_ones) if t == "sft" and len(types) > 1)
    if dpo_nll:
        alpha = dpo_nll
    nll_kind = "dpo" if dpo_nll else True
    free = case in REFERENCE_FREE
    fdiv = F_DIVERGENCE.get(case, F_DIVERGENCE_NONE)
    ld = LD_ALPHA.get(case)
    wpo = case in USE_WEIGHTING
    assert not (wpo and case in RPO_ALPHA)
    average = any(t in ("ipo", "simpo") for t in types)
    with open(os.path.join(ROOT, MODEL_DIR, "config.json")) as fh:
        arch = ref.Arch(json.load(fh))
    pairs = PAIR_EDITS.get(case, lambda p: p)(make_pairs(arch.vocab))
    bs, ga = OPT["per_device_train_batch_size"], OPT["gradient_accumulation_steps"]
    per_step = bs * ga

    # ---- step 1 with explicit, shifted reference log-probs
    params = load_params(arch)
    first = pairs[:per_step]
    g = torch.Generator().manual_seed(DATA_SEED + 1)
    with torch.no_grad():
        rc0, rr0 = sequence_logps(arch, params, first, average, ld_alpha=ld)
    off_c = torch.rand(per_step, generator=g) * 2 - 1
    off_r = torch.rand(per_step, generator=g) * 2 - 1
    ref_c, ref_r = (rc0 + off_c).float(), (rr0 + off_r).float()
    pol_c, pol_r, losses, rew_c, rew_r, baselines, nlls, mb_losses = [], [], [], [], [], [], [], []
    logits_c, logits_r = [], []
    wpo_weights = []
    running = RunningMoments()
    for m in range(ga):
        mb = first[m * bs:(m + 1) * bs]
        pc, pr, nll, mean_logits = sequence_logps(arch, params, mb, average, with_nll=nll_kind, ld_alpha=ld)
        logits_c.append(mean_logits[0]); logits_r.append(mean_logits[1])
        l, wc, wr = weighted_losses(types, weights_or_ones, beta, eps, gamma, pc, pr, ref_c[m * bs:(m + 1) * bs],
                                    ref_r[m * bs:(m + 1) * bs], running, free, fdiv)
        baselines.append(running.mean)
        nll_weight = alpha
        if wpo:  # no rpo_alpha here: the whole nll weight is the sft loss's, weighted per pair
            l, nll_weight = l * sequence_logps.wpo, alpha * sequence_logps.wpo.mean()
            wpo_weights.append(sequence_logps.wpo)
        loss_mb = l.mean() + nll_weight * nll if alpha else l.mean()
        (loss_mb / ga).backward()
        nlls.append(nll.detach()); mb_losses.append(loss_mb.detach())
        pol_c.append(pc.detach()); pol_r.append(pr.detach()); losses.append(l.detach())
        rew_c.append(wc); rew_r.append(wr)
    step1 = OrderedDict()
    step1["step1.ref_chosen"] = ref_c
    step1["step1.ref_rejected"] = ref_r
    step1["step1.logps_chosen"] = torch.cat(pol_c)
    step1["step1.logps_rejected"] = torch.cat(pol_r)
    step1["step1.pair_losses"] = torch.cat(losses)
    if wpo:
        step1["step1.wpo"] = torch.cat(wpo_weights).float()  # each pair's WPO weight (pair_losses include it)
    step1["step1.loss"] = torch.stack(mb_losses).mean().reshape(1) if alpha else \
        torch.cat(losses).mean().reshape(1)
    if alpha:
        step1["step1.nll"] = torch.stack(nlls)
    step1["step1.logits_chosen"] = torch.stack(logits_c)  # one per micro-batch
    step1["step1.logits_rejected"] = torch.stack(logits_r)
    step1["step1.rewards_chosen"] = torch.cat(rew_c)
    step1["step1.rewards_rejected"] = torch.cat(rew_r)
    if "bco_pair" in types:
        step1["step1.baselines"] = torch.tensor(baselines, dtype=torch.float32)
    for n, t in params.items():
        step1["step1.grad." + n] = t.grad.detach().clone()

    # ---- 3 optimizer steps, reference = the start model
    params = load_params(arch)
    ref_params = load_params(arch)  # TR-DPO moves it toward the policy
    with torch.no_grad():
        refs = [sequence_logps(arch, ref_params, [p], average, ld_alpha=ld) for p in pairs]
    opt = ref.make_optimizer(params, OPT["lr"], (OPT["beta1"], OPT["beta2"]), OPT["eps"],
                             OPT["weight_decay"])
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: ref.cosine_with_warmup(s, OPT["warmup_steps"], OPT["total_steps"]))
    step_losses, norms, lrs = [], [], []
    running = RunningMoments()
    for step in range(OPT["total_steps"]):
        opt.zero_grad(set_to_none=True)
        logged = 0.0
        for m in range(ga):
            lo = step * per_step + m * bs
            mb = pairs[lo:lo + bs]
            rc = torch.cat([refs[lo + i][0] for i in range(bs)])
            rr = torch.cat([refs[lo + i][1] for i in range(bs)])
            pc, pr, nll, _ = sequence_logps(arch, params, mb, average, with_nll=nll_kind, ld_alpha=ld)
            l, _, _ = weighted_losses(types, weights_or_ones, beta, eps, gamma, pc, pr, rc, rr, running, free, fdiv)
            nll_weight = alpha
            if wpo:
                l, nll_weight = l * sequence_logps.wpo, alpha * sequence_logps.wpo.mean()
            # HF Trainer: each micro-batch's mean loss (CPOTrainer: + cpo_alpha * nll) / accumulation steps
            loss_mb = ((l.mean() + nll_weight * nll) if alpha else l.mean()) / ga
            loss_mb.backward()
            logged += loss_mb.item()
        gn = torch.nn.utils.clip_grad_norm_(list(params.values()), OPT["max_grad_norm"])
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
        step_losses.append(logged)
        norms.append(gn.item())
        if case in SYNC_REF_MODEL and (step + 1) % SYNC_REF_MODEL[case][1] == 0:  # on_step_end, global_step = step + 1
            a = SYNC_REF_MODEL[case][0]
            with torch.no_grad():
                for target, policy in zip(ref_params.values(), params.values()):
                    target.mul_(1.0 - a).add_(policy, alpha=a)
                refs = [sequence_logps(arch, ref_params, [p], average, ld_alpha=ld) for p in pairs]

    d = os.path.join(out_root, case)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "pairs.jsonl"), "w") as fh:
        for p in pairs:
            fh.write(json.dumps(p) + "\n")
    r = OrderedDict(step1)
    r["losses"] = torch.tensor(step_losses, dtype=torch.float32)
    r["grad_norms"] = torch.tensor(norms, dtype=torch.float32)
    meta = OrderedDict((k, repr(v) if isinstance(v, float) else str(v)) for k, v in OPT.items())
    if alpha and not dpo_nll:
        meta["cpo_alpha"] = repr(alpha)
    if case in RPO_ALPHA:
        meta["rpo_alpha"] = repr(RPO_ALPHA[case])
    if free:
        meta["reference_free"] = "true"
    if loss_type == "discopop":
        meta["discopop_tau"] = repr(DISCOPOP_TAU)
    if alpha:
        meta["logs_nll"] = "true"
    if ld is not None:
        meta["ld_alpha"] = repr(ld)
    if wpo:
        meta["use_weighting"] = "true"
    if case in SYNC_REF_MODEL:
        meta["sync_ref_model"] = "true"
        meta["ref_model_mixup_alpha"] = repr(SYNC_REF_MODEL[case][0])
        meta["ref_model_sync_steps"] = str(SYNC_REF_MODEL[case][1])
    if case in F_DIVERGENCE:
        meta["f_divergence_type"] = fdiv[0]
        meta["f_alpha_divergence_coef"] = repr(fdiv[1])
    if weights:
        meta["loss_weights"] = "[" + ", ".join(repr(w) for w in weights) + "]"
    meta.update(loss_type=loss_type if len(types) == 1 else "[" + ", ".join(types) + "]", beta=repr(beta), label_smoothing=repr(eps), simpo_gamma=repr(gamma),
                lrs=json.dumps(lrs), model=MODEL_DIR, scheduler="cosine", torch=torch.__version__.split("+")[0])
    ref.save_safetensors(os.path.join(d, "reference.safetensors"), r, meta)
    print("%-8s step1 loss %.7f  rewards/chosen %s  losses %s  grad norms %s" % (
        case, step1["step1.loss"].item(),
        ", ".join("%.5f" % v for v in step1["step1.rewards_chosen"].tolist()),
        ", ".join("%.7f" % v for v in step_losses), ", ".join("%.5f" % v for v in norms)))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "dpo"))
    ap.add_argument("--cases", default=",".join(CASES), help="comma-separated folders to write")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    for case in args.cases.split(","):
        make_case(case, args.out)


if __name__ == "__main__":
    main()
