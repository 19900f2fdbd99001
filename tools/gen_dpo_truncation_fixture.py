#!/usr/bin/python3
"""Write tests/fixtures/dpo_truncation/cases.json: which tokens TRL 0.27's DPOTrainer keeps of
prompt + chosen and prompt + rejected under max_prompt_length, max_completion_length, max_length and
truncation_mode (keep_end, TRL's default, and keep_start).

TRL's path, reproduced here with its own code:
  DPOTrainer.tokenize_row     prompt_input_ids[-max_prompt_length:], completions [:max_completion_length]
                              (the completions already end with EOS: pre-tokenized pairs)
  DataCollatorForPreference   prompts padded on the left, completions on the right
  concatenated_inputs         [prompt; prompt] and [chosen; rejected] (completions padded to one width)
  concatenated_forward        input_ids = cat(prompt, completion), loss_mask = cat(0, completion mask);
                              if max_length < width: keep_start flushes left and keeps [:, :max_length],
                              keep_end flushes right, keeps [:, -max_length:] and flushes left.
flush_left / flush_right are copied from trl/trainer/utils.py (v0.27.0). Each case runs its pairs as
one batch, as TRL would. Per row the fixture keeps the real tokens (attention_mask == 1) and their
loss_mask (1: a completion token).

Deterministic: rerunning gives identical bytes.
Usage: /usr/bin/python3 tools/gen_dpo_truncation_fixture.py [--out tests/fixtures/dpo_truncation]
"""
import argparse
import json
import os

import torch

PAD = 0
EOS = 2


def flush_left(mask, *tensors):  # trl/trainer/utils.py v0.27.0
    _, M = mask.shape
    mask_copy = mask.clone()
    tensors = [t.clone() for t in tensors]
    first_non_zero = mask_copy.argmax(dim=1)
    pos = torch.arange(M, device=mask_copy.device).unsqueeze(0)
    idx_roll = (pos + first_non_zero.unsqueeze(1)) % M
    mask_roll = mask_copy.gather(1, idx_roll)
    rolled_tensors = [t.gather(1, idx_roll) for t in tensors]
    col_sums = mask_roll.sum(dim=0)
    empty_cols = col_sums == 0
    first_empty_col = int(empty_cols.to(torch.int8).argmax()) if empty_cols.any() else M
    flushed_mask = mask_roll[:, :first_empty_col]
    flushed_tensors = [t[:, :first_empty_col] for t in rolled_tensors]
    return (flushed_mask, *flushed_tensors)


def flush_right(mask, *tensors):  # trl/trainer/utils.py v0.27.0
    _, M = mask.shape
    mask_copy = mask.clone()
    tensors = [t.clone() for t in tensors]
    flipped_mask = torch.fliplr(mask_copy)
    first_non_zero = flipped_mask.argmax(dim=1)
    pos = torch.arange(M, device=mask_copy.device).unsqueeze(0)
    idx_roll = (pos - first_non_zero.unsqueeze(1)) % M
    mask_roll = mask_copy.gather(1, idx_roll)
    rolled_tensors = [t.gather(1, idx_roll) for t in tensors]
    col_sums = mask_roll.sum(dim=0)
    non_empty_cols = col_sums != 0
    first_non_empty_col = int(non_empty_cols.to(torch.int8).argmax()) if non_empty_cols.any() else M
    flushed_mask = mask_roll[:, first_non_empty_col:]
    flushed_tensors = [t[:, first_non_empty_col:] for t in rolled_tensors]
    return (flushed_mask, *flushed_tensors)


def pad(seqs, side):
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), PAD, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        if not s:
            continue
        if side == "left":
            ids[i, width - len(s):] = torch.tensor(s)
            mask[i, width - len(s):] = 1
        else:
            ids[i, :len(s)] = torch.tensor(s)
            mask[i, :len(s)] = 1
    return ids, mask


def trl_rows(pairs, max_prompt_length, max_completion_length, max_length, truncation_mode):
    prompts, chosen, rejected = [], [], []
    for p in pairs:  # tokenize_row
        prompt, c, r = p["prompt_ids"], p["chosen_ids"], p["rejected_ids"]
        if max_prompt_length is not None:
            prompt = prompt[-max_prompt_length:]
        if max_completion_length is not None:
            c, r = c[:max_completion_length], r[:max_completion_length]
        prompts.append(prompt)
        chosen.append(c)
        rejected.append(r)
    prompt_ids, prompt_mask = pad(prompts + prompts, "left")  # collator + concatenated_inputs
    completion_ids, completion_mask = pad(chosen + rejected, "right")
    input_ids = torch.cat((prompt_ids, completion_ids), dim=1)  # concatenated_forward
    attention_mask = torch.cat((prompt_mask, completion_mask), dim=1)
    loss_mask = torch.cat((torch.zeros_like(prompt_mask), completion_mask), dim=1)
    if max_length is not None and max_length < attention_mask.size(1):
        if truncation_mode == "keep_start":
            attention_mask, input_ids, loss_mask = flush_left(attention_mask, input_ids, loss_mask)
            attention_mask = attention_mask[:, :max_length]
            input_ids = input_ids[:, :max_length]
            loss_mask = loss_mask[:, :max_length]
        elif truncation_mode == "keep_end":
            attention_mask, input_ids, loss_mask = flush_right(attention_mask, input_ids, loss_mask)
            input_ids = input_ids[:, -max_length:]
            attention_mask = attention_mask[:, -max_length:]
            loss_mask = loss_mask[:, -max_length:]
            attention_mask, input_ids, loss_mask = flush_left(attention_mask, input_ids, loss_mask)
        else:
            raise ValueError(truncation_mode)
    else:
        attention_mask, input_ids, loss_mask = flush_left(attention_mask, input_ids, loss_mask)
    rows = []
    for i in range(input_ids.size(0)):
        keep = attention_mask[i].bool()
        rows.append({"input_ids": input_ids[i][keep].tolist(), "loss_mask": loss_mask[i][keep].tolist()})
    return rows


def make_pair(gen, prompt_len, chosen_len, rejected_len):
    def ids(n):
        return torch.randint(3, 1000, (n,), generator=gen).tolist()
    # completions end with EOS, as tokenize_row appends it
    return {"prompt_ids": ids(prompt_len), "chosen_ids": ids(chosen_len - 1) + [EOS],
            "rejected_ids": ids(rejected_len - 1) + [EOS]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/fixtures/dpo_truncation")
    args = ap.parse_args()
    gen = torch.Generator().manual_seed(1234)
    # (prompt, chosen, rejected) lengths: long prompts, long completions, both, and pairs that fit
    pair_sets = {
        "mixed": [(12, 3, 6), (4, 15, 2), (3, 2, 2), (9, 9, 1)],
        "long_prompts": [(20, 3, 4), (11, 1, 5), (6, 2, 2)],
        "long_completions": [(2, 14, 7), (1, 30, 3), (5, 6, 12)],
    }
    pairs = {name: [make_pair(gen, *lens) for lens in lengths] for name, lengths in pair_sets.items()}
    settings = [  # (pairs, max_prompt_length, max_completion_length, max_length)
        ("mixed", 8, None, 10),
        ("mixed", None, 5, 7),
        ("mixed", None, None, 100),  # nothing cut
        ("long_prompts", None, None, 6),  # the prompt alone exceeds max_length
        ("long_prompts", 10, None, 12),
        ("long_completions", None, None, 8),  # a completion alone exceeds max_length
        ("long_completions", 3, 10, 9),
    ]
    cases = []
    for name, mpl, mcl, ml in settings:
        for mode in ("keep_end", "keep_start"):
            cases.append({"name": f"{name}/mpl={mpl}/mcl={mcl}/ml={ml}/{mode}", "max_prompt_length": mpl,
                          "max_completion_length": mcl, "max_length": ml, "truncation_mode": mode,
                          "pairs": pairs[name], "rows": trl_rows(pairs[name], mpl, mcl, ml, mode)})
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "cases.json"), "w") as f:
        json.dump({"generator": "tools/gen_dpo_truncation_fixture.py", "trl": "0.27.0", "eos_id": EOS,
                   "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
