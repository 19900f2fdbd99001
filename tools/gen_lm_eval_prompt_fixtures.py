#!/usr/bin/python3
"""Generates what lm-eval's fewshot_context passes to a chat template, or writes as plain text, for
--system-instruction and --fewshot-as-multiturn (src/eval/task_run_test.cpp compares against it).

Run with Debian's python3 and lm-eval's own message helpers (lm_eval/api/utils.py of lm-eval 0.4.10:
Message, maybe_delimit, multiturn_to_singleturn, requires_delimiter; the file imports only the standard
library):

    git clone --branch v0.4.10 https://github.com/EleutherAI/lm-evaluation-harness /tmp/lm-eval
    /usr/bin/python3 tools/gen_lm_eval_prompt_fixtures.py --lm-eval-utils /tmp/lm-eval/lm_eval/api/utils.py

Writes tests/fixtures/lm_eval_prompts/cases.json. fewshot_context below is ConfigurableTask.fewshot_context
of lm_eval/api/task.py (0.4.10) for a task without gen_prefix or multiple inputs: the system turn,
build_qa_turn per few-shot example, build_qa_turn of the question, then either the messages (multi-turn),
multiturn_to_singleturn, or the plain text.
"""
import argparse
import importlib.util
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "lm_eval_prompts", "cases.json")


def load_utils(path):
    spec = importlib.util.spec_from_file_location("lm_eval_api_utils", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def build_qa_turn(u, q, a, tgt_delim, few_delim):
    has_answer = a is not None and a != ""
    msgs = [u.Message("user", q, tgt_delim if has_answer else "")]
    if has_answer:
        msgs.append(u.Message("assistant", u.maybe_delimit(None, a, delimiter=" "), few_delim))
    return msgs


def fewshot_context(u, case, apply_chat_template, fewshot_as_multiturn):
    messages = []
    system_prompt = u.maybe_delimit(case["system_instruction"], case["description"], case["fewshot_delimiter"])
    if system_prompt:
        messages.append(u.Message("system", system_prompt))
    for q, a in case["shots"]:
        messages += build_qa_turn(u, q, a, case["target_delimiter"], case["fewshot_delimiter"])
    messages += build_qa_turn(u, case["question"], None, case["target_delimiter"], "")
    if apply_chat_template:
        return [m.to_dict() for m in messages] if fewshot_as_multiturn else u.multiturn_to_singleturn(messages)
    return "".join(m.to_text() for m in messages)


CASES = [
    # MMLU-shaped: a description ending in "\n\n", " " target delimiter, two shots.
    {"name": "mmlu_two_shots", "description": "The following are multiple choice questions (with answers) about algebra.\n\n",
     "shots": [["What is 2+2?\nA. 3\nB. 4\nAnswer:", "B"], ["What is 3*3?\nA. 9\nB. 6\nAnswer:", "A"]],
     "question": "What is 5-1?\nA. 4\nB. 5\nAnswer:", "target_delimiter": " ", "fewshot_delimiter": "\n\n"},
    # ARC-shaped: no description, zero shots.
    {"name": "arc_zero_shot", "description": "", "shots": [], "question": "Question: Which is a gas?\nAnswer:",
     "target_delimiter": " ", "fewshot_delimiter": "\n\n"},
    # BBH-shaped: "" target delimiter, answers after a newline.
    {"name": "bbh_cot", "description": "Evaluate the result of a random Boolean expression.\n\n",
     "shots": [["Q: not ( True ) and ( True ) is\nA: Let's think step by step.", "\nRemember ... So the answer is False."]],
     "question": "Q: True and not not ( not False ) is\nA: Let's think step by step.", "target_delimiter": "",
     "fewshot_delimiter": "\n\n"},
    # A description without trailing whitespace and another few-shot delimiter: maybe_delimit inserts it.
    {"name": "custom_delimiters", "description": "Answer tersely.", "shots": [["Q: 1+1", "2"]], "question": "Q: 2+2",
     "target_delimiter": "\nA: ", "fewshot_delimiter": "\n###\n"},
    # Non-ASCII whitespace at the join (U+3000 ends the instruction; Python's isspace is true).
    {"name": "unicode_space_join", "description": "Beschreibung.", "shots": [], "question": "Frage?",
     "target_delimiter": " ", "fewshot_delimiter": "\n\n", "instruction_override": "指示\u3000"},
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lm-eval-utils", required=True, help="lm_eval/api/utils.py of lm-eval 0.4.10")
    args = parser.parse_args()
    u = load_utils(args.lm_eval_utils)
    out = []
    for base in CASES:
        for instruction in [None, base.get("instruction_override", "You are a careful assistant.")]:
            case = {k: v for k, v in base.items() if k != "instruction_override"}
            case["system_instruction"] = instruction
            case["plain"] = fewshot_context(u, case, False, False)
            case["multiturn"] = fewshot_context(u, case, True, True)
            case["single_turn"] = fewshot_context(u, case, True, False)
            out.append(case)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {len(out)} cases to {OUT}")


if __name__ == "__main__":
    main()
