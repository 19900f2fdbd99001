#!/usr/bin/python3
"""Write tests/fixtures/langdetect/decisions.jsonl: what Debian's python3-langdetect (1.0.9) decides,
with DetectorFactory.seed = 0, on

  * every response of ../shared/data/ifeval/input_response_data_gpt4_20231107_145030.jsonl (by line
    index; the texts stay in the shared data), each as is ("full") and with '*' removed ("no_star",
    the loose checker's variant), and
  * a few hand-written texts (stored with their text) that reach the normaliser's corners: URLs,
    e-mail addresses, Vietnamese combining marks, kana, hangul, kanji classes, Romanian commas,
    Latin-1 exclusions, all-capital words, text with no features, and
  * a few short texts under seeds 1-19 as well ("seed" in the row; 0 where absent), on which the
    decision depends on the seed.

decisions.jsonl, each line: {"source": "gpt4"|"extra", "index" | "text", "variant", "detect": code or null (null where
langdetect raises LangDetectException), "probabilities": [[lang, repr(prob)], ...]} with
probabilities written with repr() so the test can compare them bit for bit.
langlist.json: the languages in the order this machine's os.listdir gave langdetect its profiles
(DetectorFactory.langlist). The order changes the last bits of the probabilities (it is the order
of a sum), so the test loads the profiles in this order to compare bit for bit on any machine.
Deterministic: rerunning gives identical bytes (on the same langdetect, Python 3.11 and filesystem).

Usage: /usr/bin/python3 tools/gen_langdetect_fixture.py [--shared ../shared] [--out tests/fixtures/langdetect]
"""
import argparse
import json
import os

import langdetect
from langdetect import DetectorFactory
from langdetect.lang_detect_exception import LangDetectException

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESPONSES = "data/ifeval/input_response_data_gpt4_20231107_145030.jsonl"

EXTRA_TEXTS = [
    "",
    "12345 !!! ???",
    "YES",
    "A",
    "HELLO WORLD THIS IS ALL CAPITALS",
    "coastal elegance properties",
    "See https://example.com/path?q=1&x=y#frag and http://foo.bar for details.",
    "Write to john.doe@example.co.uk or a@b or x@yy. today please",
    "Tiếng Việt là ngôn ngữ của người Việt",
    "Tie\u0302\u0301ng Vie\u0323\u0302t co\u0301 da\u0302\u0301u",
    "これは日本語の文章です。カタカナもあります。",
    "한국어 문장입니다. 안녕하세요",
    "这是一个中文句子，我们用它来测试语言检测。",
    "這是一個繁體中文句子，我們用它來測試語言檢測。",
    "Aceasta este o propoziție în limba română, cu virgulă și țară.",
    "Ceci est une phrase française ; « guillemets » et café × 3 ÷ 2.",
    "Это предложение на русском языке.",
    "Dies ist ein deutscher Satz über Äpfel und Öl.",
    "هذه جملة باللغة العربية. یک جمله فارسی",
    "यह एक हिंदी वाक्य है।",
    "Mixed English text with a few русских слов inside it.",
    "The quick brown fox\u2014jumps\u2026 over the lazy dog\u201d.",
    "NASA and the FBI met in Washington",
]


SEEDED_TEXTS = ["coastal elegance properties", "YES", "Paris", "etchings"]


def factory_langlist():
    from langdetect import detector_factory
    detector_factory.init_factory()
    return detector_factory._factory.get_lang_list()


def decision(text):
    try:
        detect = langdetect.detect(text)
        probs = [[p.lang, repr(p.prob)] for p in langdetect.detect_langs(text)]
    except LangDetectException:
        detect, probs = None, []
    return {"detect": detect, "probabilities": probs}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default=os.environ.get("TINYTHINK_SHARED", os.path.join(ROOT, "..", "shared")))
    parser.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "langdetect"))
    args = parser.parse_args()
    DetectorFactory.seed = 0  # detect() and detect_langs() each reseed their detector with it

    rows = []
    with open(os.path.join(args.shared, RESPONSES), encoding="utf-8") as f:
        for index, line in enumerate(f):
            response = json.loads(line)["response"]
            rows.append({"source": "gpt4", "index": index, "variant": "full", **decision(response)})
            rows.append({"source": "gpt4", "index": index, "variant": "no_star",
                         **decision(response.replace("*", ""))})
    for text in EXTRA_TEXTS:
        rows.append({"source": "extra", "text": text, "variant": "full", **decision(text)})
    for text in SEEDED_TEXTS:
        for seed in range(1, 20):
            DetectorFactory.seed = seed
            rows.append({"source": "extra", "text": text, "variant": "full", "seed": seed, **decision(text)})
    DetectorFactory.seed = 0

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "langlist.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(factory_langlist()) + "\n")
    with open(os.path.join(args.out, "decisions.jsonl"), "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} decisions to {args.out}/decisions.jsonl")


if __name__ == "__main__":
    main()
