#!/usr/bin/python3
"""How much the official IFEval verdicts on GPT-4's responses depend on langdetect's seed.

The official checker (google-research instruction_following_eval/instructions.py) calls
langdetect.detect unseeded; tinythink seeds it with 0 (src/eval/langdetect.h). For each seed in
[FIRST, LAST) this re-runs, with Debian's python3-langdetect, the three language-dependent checks
(change_case:english_capital, change_case:english_lowercase, language:response_language) the way
the official checker does (strict: the response; loose: any of its eight variants) and prints the
seed, the number of verdicts that differ from ../shared/data/ifeval/eval_results_{strict,loose}.jsonl
and which. Not a fixture: the numbers back the comment in src/eval/ifeval_test.cpp (0 differences
for every seed in 0-39 on 2026-12-04).

Usage: /usr/bin/python3 tools/check_ifeval_langdetect_seeds.py [FIRST LAST] [--shared ../shared]
"""
import argparse
import json
import os

import langdetect
from langdetect import DetectorFactory

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LANGUAGE_CHECKS = {"change_case:english_capital", "change_case:english_lowercase", "language:response_language"}


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def follows(instruction, kwargs, value):
    """The official check_following of the three language-dependent instructions."""
    try:
        if instruction == "change_case:english_capital":
            return value.isupper() and langdetect.detect(value) == "en"
        if instruction == "change_case:english_lowercase":
            return value.islower() and langdetect.detect(value) == "en"
        return langdetect.detect(value) == kwargs["language"]
    except langdetect.LangDetectException:
        return True  # the official checker counts a failed detection as followed


def loose_variants(response):
    """evaluation_lib.test_instruction_following_loose's eight responses."""
    lines = response.split("\n")
    no_first = "\n".join(lines[1:]).strip()
    no_last = "\n".join(lines[:-1]).strip()
    no_both = "\n".join(lines[1:-1]).strip()
    variants = [response, no_first, no_last, no_both]
    return variants + [v.replace("*", "") for v in variants]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("first", type=int, nargs="?", default=0)
    parser.add_argument("last", type=int, nargs="?", default=40)
    parser.add_argument("--shared", default=os.environ.get("TINYTHINK_SHARED", os.path.join(ROOT, "..", "shared")))
    args = parser.parse_args()
    data = os.path.join(args.shared, "data", "ifeval")
    responses = {r["prompt"]: r["response"] for r in
                 read_jsonl(os.path.join(data, "input_response_data_gpt4_20231107_145030.jsonl"))}
    official = [{r["prompt"]: r for r in read_jsonl(os.path.join(data, name))}
                for name in ("eval_results_strict.jsonl", "eval_results_loose.jsonl")]
    cases = []
    for doc in read_jsonl(os.path.join(data, "input_data.jsonl")):
        for i, instruction in enumerate(doc["instruction_id_list"]):
            if instruction in LANGUAGE_CHECKS:
                kwargs = {k: v for k, v in doc["kwargs"][i].items() if v is not None}
                verdicts = [o[doc["prompt"]]["follow_instruction_list"][i] for o in official]
                cases.append((doc["key"], instruction, kwargs, responses[doc["prompt"]], verdicts))
    print(f"{len(cases)} language-dependent instructions")
    for seed in range(args.first, args.last):
        DetectorFactory.seed = seed
        differ = []
        for key, instruction, kwargs, response, (strict, loose) in cases:
            if bool(response.strip() and follows(instruction, kwargs, response)) != strict:
                differ.append((key, instruction, "strict"))
            if any(v.strip() and follows(instruction, kwargs, v) for v in loose_variants(response)) != loose:
                differ.append((key, instruction, "loose"))
        print(seed, len(differ), differ)


if __name__ == "__main__":
    main()
