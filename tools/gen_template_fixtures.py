#!/usr/bin/python3
"""Generates the expected outputs that tinythink's Jinja / chat-template tests compare against.

Run with Debian's python3 (it has jinja2):  /usr/bin/python3 tools/gen_template_fixtures.py
Writes tests/fixtures/chat_templates/{conversations.json,expected.json,jinja_cases.json}.

The environment is set up the way transformers' apply_chat_template sets it up:
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with the loopcontrols
extension and a {% generation %} extension that records the character span of each block's
output (transformers' AssistantTracker), tojson overridden by json.dumps(ensure_ascii=False, ...),
and the raise_exception / strftime_now globals. Spans are converted to UTF-8 byte offsets, which is
what the C++ renderer reports.
"""
import json
import os
from datetime import datetime

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "chat_templates")


class GenerationTracker(Extension):
    tags = {"generation"}

    def __init__(self, environment):
        super().__init__(environment)
        self.rendered = None
        self.spans = None

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_generation", []), [], [], body).set_lineno(lineno)

    def _generation(self, caller):
        text = caller()
        if self.spans is not None:
            start = len("".join(self.rendered))
            self.spans.append((start, start + len(text)))
        return text


def make_env():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return datetime.now().strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationTracker, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


ENV = make_env()
TRACKER = ENV.extensions[GenerationTracker.identifier]


def render(source, variables):
    """Returns {"text", "spans"} (byte offsets) or {"error": message}."""
    try:
        template = ENV.from_string(source)
        TRACKER.rendered, TRACKER.spans = [], []
        for chunk in template.generate(**variables):
            TRACKER.rendered.append(chunk)
        text = "".join(TRACKER.rendered)
        to_bytes = lambda i: len(text[:i].encode("utf-8"))
        return {"text": text, "spans": [[to_bytes(a), to_bytes(b)] for a, b in TRACKER.spans]}
    except Exception as e:  # noqa: BLE001 - any failure is an expected error for the C++ side
        return {"error": f"{type(e).__name__}: {e}"}
    finally:
        TRACKER.rendered = TRACKER.spans = None


TOOLS = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the weather in a city — with \"quotes\" and ünïcode",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                       "required": ["city"]},
    },
}]

CONVERSATIONS = {
    "single_user": {"messages": [{"role": "user", "content": "What is 2+2?"}]},
    "system_user": {"messages": [{"role": "system", "content": "  You are terse.\n"},
                                 {"role": "user", "content": "Hi"}]},
    "multi_turn": {"messages": [
        {"role": "system", "content": "Be helpful.\n\nAlways."},
        {"role": "user", "content": "  Héllo, 世界! 🙂\nSecond line\t "},
        {"role": "assistant", "content": "\n<think>\nThe user greets.\n</think>\n\nHi there — \\boxed{1}  \n"},
        {"role": "user", "content": "Quote: \"x\" and 'y' and \\n literally"},
        {"role": "assistant", "content": "Ça va\u00a0bien.\u2028End"},
    ]},
    "multi_turn_no_system": {"messages": [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "<think>\nplan\n</think>\n\nanswer one"},
        {"role": "user", "content": "second"},
        {"role": "assistant", "content": "<think>\n\n</think>\n\nanswer two"},
    ]},
    "empty_content": {"messages": [
        {"role": "user", "content": ""},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": "   "},
    ]},
    "assistant_last": {"messages": [
        {"role": "user", "content": "Compute 6*7."},
        {"role": "assistant", "content": "<think>6*7=42</think>The answer is \\boxed{42}."},
    ]},
    "tools": {"messages": [
        {"role": "system", "content": "You can call tools."},
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris", "days": 2}}}]},
        {"role": "tool", "content": "{\"temp\": 21.5}"},
        {"role": "assistant", "content": "It is 21.5 °C."},
    ], "extra": {"tools": TOOLS}},
    "two_tool_calls": {"messages": [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"type": "function", "function": {"name": "a", "arguments": {}}},
            {"type": "function", "function": {"name": "b", "arguments": {"x": [1, 2.5, None, True]}}}]},
    ]},
    "thinking_off": {"messages": [{"role": "user", "content": "Quick: 1+1?"}], "extra": {"enable_thinking": False}},
    "thinking_on": {"messages": [{"role": "user", "content": "Quick: 1+1?"}], "extra": {"enable_thinking": True}},
}

TEMPLATES = ["tiny_think", "llama3", "smollm2", "qwen2_5", "qwen3", "chatml_generation"]
SPECIAL_TOKENS = {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}
BASE_EXTRA = {"date_string": "26 Jul 2024"}  # keeps the Llama header independent of today's date

# Small templates for the interpreter itself: name -> (source, variables).
JINJA_CASES = {
    # whitespace control: trim_blocks, lstrip_blocks, '-' and '+' on either side
    "trim_blocks": ("{% if true %}\nyes\n{% endif %}\nafter\n", {}),
    "lstrip_blocks": ("  {% if true %}\n    x\n  {% endif %}\n  y", {}),
    "lstrip_not_after_text": ("a {% if true %}b{% endif %} c", {}),
    "lstrip_comment": ("line\n   {# note #}\nnext", {}),
    "minus_both": ("a  \n  {%- if true -%}  \n  b  \n  {%- endif -%}  \n  c", {}),
    "minus_variable": ("a \n {{- 'x' -}} \n b", {}),
    "plus_disables": ("  {%+ if true +%}\nx{% endif %}\n", {}),
    "var_no_lstrip": ("  {{ 1 }}\n  {{ 2 }}\n", {}),
    "trailing_newline_dropped": ("x\n", {}),
    "crlf_newlines": ("a\r\n{% if true %}\r\nb\r\n{% endif %}\r\nc", {}),
    "comment_trim": ("a{# c #}\nb{#- c -#}  \n c", {}),
    "raw_block": ("{% raw %}{{ not parsed }}{% endraw %}!", {}),
    "line_start_after_tag": ("{% if true %}\n  {% if true %}\n  x\n  {% endif %}\n{% endif %}", {}),
    "minus_eats_newlines_only_after": ("{%- set x = 1 -%}\n\n   {{ x }}\n", {}),
    # literals and printing like Python's str()
    "print_values": ("{{ none }}|{{ true }}|{{ 1.5 }}|{{ 10 / 4 }}|{{ 2 ** 10 }}|{{ [1, 'a', none, 1.0] }}|{{ {'k': \"it's\"} }}|{{ (1,) }}|{{ 1e-5 }}|{{ 1e20 }}|{{ 3.0 * 2 }}", {}),
    "print_undefined": ("[{{ missing }}][{{ missing | default('d') }}][{{ missing is defined }}]", {}),
    "string_escapes": ("{{ 'a\\nb\\tc\\\\d\\'e\\x41\\u00e9\\d' }}|{{ \"q\\\"q\" }}|{{ 'adj' 'acent' }}", {}),
    "repr_strings": ("{{ ['a\\nb', \"x'y\", 'x\"y', 'tab\\t', 'é', '\\x00'] }}", {}),
    "arithmetic": ("{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 1 + 2 * 3 - 4 }} {{ 2 ** 3 ** 2 }} {{ -2 ** 2 }} {{ 1 + 1.0 }} {{ 'ab' * 3 }} {{ [1] + [2] }}", {}),
    "concat": ("{{ 1 ~ 'a' ~ none ~ true ~ missing }}", {}),
    "compare": ("{{ 1 < 2 < 3 }} {{ 1 < 3 < 2 }} {{ 'a' == 'a' }} {{ 1 == 1.0 }} {{ 'ab' in 'cabd' }} {{ 2 not in [1, 3] }} {{ 'k' in {'k': 1} }} {{ [1, 2] == [1, 2] }}", {}),
    "logic": ("{{ 0 or 'x' }} {{ 1 and 'y' }} {{ not 0 }} {{ '' or none }} {{ none and 1 }} {{ 'a' if false }}|{{ 'a' if 0 else 'b' if 1 else 'c' }}", {}),
    "precedence": ("{{ -1 | abs }} {{ 'a' ~ 1 + 2 }} {{ not 1 == 2 }} {{ x is defined and x }} {{ [1, 2] | length + 1 }} {{ 2 * 3 ~ 4 }}", {"x": "v"}),
    "error_type_mismatch": ("{{ 1 + 2 | string }}", {}),
    # attribute / item / slice
    "subscript": ("{{ xs[0] }} {{ xs[-1] }} {{ xs[1:] }} {{ xs[::-1] }} {{ xs[:-1] }} {{ s[1:3] }} {{ s[::-1] }} {{ d.a }} {{ d['a'] }} {{ xs.0 }} [{{ xs[10] }}] [{{ d.missing }}]", {"xs": [1, 2, 3], "s": "héllo", "d": {"a": 1}}),
    "dict_methods": ("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %} {{ d.keys() | list }} {{ d.values() | list }} {{ d.get('a') }} {{ d.get('z', 'dflt') }} {{ d.get('z') }}", {"d": {"a": 1, "b": [2]}}),
    "string_methods": ("{{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip() }}|{{ s.strip(' x') }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a b c'.split(' ', 1) }}|{{ s.startswith('  x') }}|{{ s.endswith(('y', 'z  ')) }}|{{ 'Ab'.upper() }}{{ 'Ab'.lower() }}|{{ 'aXa'.replace('a', '-') }}|{{ 'hello world'.title() }}|{{ 'x'.join(['1', '2']) }}", {"s": "  xyz  "}),
    "unicode_strip": ("[{{ s | trim }}][{{ s.strip() }}]", {"s": "\u00a0\u2003 mid \u3000\n"}),
    # filters
    "filters_text": ("{{ ' a ' | trim }}|{{ 'abc' | upper }}|{{ 'ABC' | lower }}|{{ 'hello wORLD-foo(bar' | title }}|{{ 'hELLO' | capitalize }}|{{ 'aaa' | replace('a', 'b', 2) }}|{{ 'xy' | replace('', '.') }}|{{ 'héllo' | length }}|{{ [1, 2] | length }}|{{ 42 | string }}", {}),
    "filters_list": ("{{ xs | join(', ') }}|{{ xs | first }}|{{ xs | last }}|{{ xs | list }}|{{ 'ab' | list }}|{{ xs | reverse | list }}|{{ [3, 1, 2] | sort }}|{{ xs | map('string') | join }}|{{ msgs | map(attribute='role') | list }}|{{ msgs | join('/', attribute='role') }}", {"xs": [1, 2, 3], "msgs": [{"role": "user"}, {"role": "assistant"}]}),
    "filters_select": ("{{ msgs | selectattr('role', 'equalto', 'user') | list | length }}|{{ msgs | rejectattr('role', 'eq', 'user') | map(attribute='content') | list }}|{{ [1, 2, 3, 4] | select('even') | list }}|{{ [0, 1, '', 'a'] | select | list }}|{{ msgs | selectattr('content') | list | length }}", {"msgs": [{"role": "user", "content": "a"}, {"role": "assistant", "content": ""}, {"role": "user", "content": "c"}]}),
    "filters_numbers": ("{{ '42' | int }} {{ '4.7' | int }} {{ 'x' | int }} {{ 'x' | int(7) }} {{ 3.9 | int }} {{ '2.5' | float }} {{ -3 | abs }}", {}),
    "filters_default": ("{{ missing | default('a') }} {{ '' | default('b') }} {{ '' | default('c', true) }} {{ none | default('d') }} {{ missing | d('e') }}", {}),
    "filters_items": ("{% for k, v in d | items %}{{ k }}:{{ v }} {% endfor %}{{ d | dictsort }}", {"d": {"b": 2, "a": 1}}),
    "tojson": ("{{ d | tojson }}|{{ d | tojson(indent=2) }}|{{ 'é\"\\n<' | tojson }}|{{ [] | tojson(indent=2) }}|{{ d | tojson(sort_keys=true) }}|{{ d | tojson(separators=(',', ':')) }}|{{ 1.0 | tojson }}", {"d": {"z": [1, 2.5, None, True, {}], "a": "x"}}),
    "indent": ("{{ 'a\\nb\\n\\nc' | indent }}|{{ 'a\\nb' | indent(2, true) }}|{{ 'a\\n\\nb' | indent(2, blank=true) }}", {}),
    "escape_safe": ("{{ '<a href=\"x\">&\\'' | e }}|{{ '<b>' | safe }}", {}),
    # tests
    "tests": ("{{ none is none }} {{ 'a' is string }} {{ {} is mapping }} {{ [] is iterable }} {{ 'a' is iterable }} {{ 1 is number }} {{ 1 is integer }} {{ 1.0 is float }} {{ true is boolean }} {{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 1 is not none }} {{ x is undefined }} {{ false is false }} {{ 'AB' is upper }} {{ 2 is in [1, 2] }} {{ 1 is eq 1 }} {{ 3 is gt 2 }} {{ none is sameas none }}", {}),
    # loops
    "loop_vars": ("{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.first }}{{ loop.last }}{{ loop.length }}[{{ loop.previtem }}|{{ loop.nextitem }}]{{ loop.cycle('a', 'b') }} {% endfor %}", {"xs": ["p", "q", "r"]}),
    "loop_else_filter": ("{% for x in xs if x > 1 %}{{ x }}{{ loop.length }} {% else %}none{% endfor %}|{% for x in [] %}x{% else %}empty{% endfor %}", {"xs": [1, 2, 3]}),
    "loop_controls": ("{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x > 4 %}{% break %}{% endif %}{{ x }}{% endfor %}", {}),
    "loop_scoping": ("{% set y = 0 %}{% for x in [1, 2] %}[{{ y }}]{% set y = x %}({{ y }}){% endfor %}{{ y }}|{% for x in [1, 2] %}{% if x > 1 %}[{{ z }}]{% endif %}{% set z = x %}{% endfor %}[{{ z }}]", {}),
    "loop_unpack_dict_iter": ("{% for k in d %}{{ k }}{% endfor %}|{% for a, b in [[1, 2], (3, 4)] %}{{ a + b }}{% endfor %}|{% for c in 'hé' %}<{{ c }}>{% endfor %}", {"d": {"x": 1, "y": 2}}),
    "nested_loops": ("{% for a in [1, 2] %}{% for b in 'xy' %}{{ loop.index }}{{ a }}{{ b }} {% endfor %}{{ loop.index }}; {% endfor %}", {}),
    "range": ("{{ range(3) | list }} {{ range(1, 7, 2) | list }} {{ range(5, 0, -2) | list }}", {}),
    # set, namespace, macro, with, filter block
    "namespace": ("{% set ns = namespace(found=false, n=0) %}{% for x in [1, 2, 3] %}{% if x == 2 %}{% set ns.found = true %}{% endif %}{% set ns.n = ns.n + x %}{% endfor %}{{ ns.found }} {{ ns.n }}", {}),
    "set_tuple_and_block": ("{% set a, b = 1, 2 %}{{ a }}{{ b }}|{% set blk %}  inner {{ a }}\n{% endset %}[{{ blk }}]|{% set up | upper %}shout{% endset %}{{ up }}", {}),
    "macro": ("{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }} {{ greet('B', '?') }} {{ greet(punct='.', name='C') }} [{{ greet() }}]", {}),
    "with_and_filter_block": ("{% with a = 1, b = 'x' %}{{ a }}{{ b }}{% endwith %}[{{ a }}]{% filter upper %}quiet {{ 'words' }}{% endfilter %}", {}),
    "if_elif_else": ("{% for v in [1, 2, 3] %}{% if v == 1 %}one{% elif v == 2 %}two{% else %}many{% endif %} {% endfor %}", {}),
    "generation_spans": ("A{% generation %}B{{ 'é' }}C{% endgeneration %}D{% for x in [1, 2] %}{% generation %}[{{ x }}]{% endgeneration %}{% endfor %}{% generation %}{% endgeneration %}", {}),
    # errors
    "error_raise": ("{{ raise_exception('bad input: ' ~ x) }}", {"x": 3}),
    "error_undefined_attr": ("{{ missing.attr }}", {}),
    "error_syntax": ("{% if x %}unterminated", {}),
    "error_list_append": ("{{ [1].append(2) }}", {}),
}


def main():
    with open(os.path.join(FIXTURES, "conversations.json"), "w", encoding="utf-8") as f:
        json.dump(CONVERSATIONS, f, ensure_ascii=False, indent=1)
        f.write("\n")
    expected = {}
    for name in TEMPLATES:
        with open(os.path.join(FIXTURES, "templates", name + ".jinja"), encoding="utf-8") as f:
            source = f.read()
        for case, conv in CONVERSATIONS.items():
            for agp in (False, True):
                variables = dict(SPECIAL_TOKENS)
                variables.update(messages=conv["messages"], tools=None, documents=None, add_generation_prompt=agp)
                variables.update(BASE_EXTRA)
                variables.update(conv.get("extra", {}))
                expected[f"{name}/{case}/{'gen' if agp else 'nogen'}"] = render(source, variables)
    with open(os.path.join(FIXTURES, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, ensure_ascii=False, indent=1)
        f.write("\n")
    cases = {}
    for name, (source, variables) in JINJA_CASES.items():
        cases[name] = {"template": source, "variables": variables, **render(source, variables)}
    with open(os.path.join(FIXTURES, "jinja_cases.json"), "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"{len(expected)} chat renders, {len(cases)} jinja cases")


if __name__ == "__main__":
    main()
