// Untrusted templates: recursion, nesting, arithmetic and size limits fail with a one-line error
// naming the template position and the limit -- never a crash (SIGSEGV/SIGFPE), hang or wrong value.
#include "text/jinja_limits.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "text/jinja.h"
#include "text/jinja_value.h"

namespace {

using ::testing::HasSubstr;

std::string render(const std::string& source) {
  return tt::jinja::Template(source, "evil.jinja").render(nlohmann::ordered_json::object()).text;
}

std::string error_of(const std::string& source) {
  try {
    render(source);
  } catch (const tt::Error& e) {
    return e.what();
  }
  return "<no error>";
}

void expect_one_line_error(const std::string& source, const std::string& fragment) {
  std::string message = error_of(source);
  EXPECT_THAT(message, HasSubstr("evil.jinja:")) << source.substr(0, 80);
  EXPECT_THAT(message, HasSubstr(fragment)) << source.substr(0, 80);
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

TEST(JinjaLimits, MacroCallingItselfIsRefused) {
  expect_one_line_error("{% macro f(x) %}{{ f(x) }}{% endmacro %}{{ f(1) }}", "macro 'f': calls nested deeper than 64");
}

TEST(JinjaLimits, MutuallyRecursiveMacrosAreRefused) {
  expect_one_line_error(
      "{% macro a(x) %}{{ b(x) }}{% endmacro %}{% macro b(x) %}{{ a(x) }}{% endmacro %}{{ a(1) }}",
      "calls nested deeper than 64");
}

TEST(JinjaLimits, BoundedRecursionStillWorks) {
  EXPECT_EQ(render("{% macro f(n) %}{% if n > 0 %}{{ n }},{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(12) }}"),
            "12,11,10,9,8,7,6,5,4,3,2,1,");
}

TEST(JinjaLimits, DeepParenthesesAreRefusedWhileParsing) {
  std::string source = "{{ " + std::string(100000, '(') + "1" + std::string(100000, ')') + " }}";
  expect_one_line_error(source, "nesting deeper than 100 levels");
  EXPECT_EQ(render("{{ " + std::string(50, '(') + "1" + std::string(50, ')') + " }}"), "1");
}

// List and dict literals too (100,000 levels used to overflow the stack while parsing).
TEST(JinjaLimits, DeepListAndDictLiteralsAreRefusedWhileParsing) {
  expect_one_line_error("{{ " + std::string(100000, '[') + std::string(100000, ']') + " }}", "nesting deeper than 100 levels");
  expect_one_line_error("{{ " + std::string(100000, '{') + std::string(100000, '}') + " }}", "nesting deeper than 100 levels");
  EXPECT_EQ(render("{{ " + std::string(30, '[') + "1" + std::string(30, ']') + " | length }}"), "1");
}

TEST(JinjaLimits, LongOperatorChainsAndNestedBlocksAreRefused) {
  std::string chain = "{{ 1";
  for (int i = 0; i < 100000; ++i) chain += "+1";
  expect_one_line_error(chain + " }}", "nesting deeper than 100 levels");
  std::string blocks;
  for (int i = 0; i < 100000; ++i) blocks += "{% if true %}";
  expect_one_line_error(blocks, "nesting deeper than 100 levels");
  expect_one_line_error("{{ " + std::string(100000, '-') + "1 }}", "nesting deeper than 100 levels");
  std::string nots = "{{ ";
  for (int i = 0; i < 100000; ++i) nots += "not ";
  expect_one_line_error(nots + "1 }}", "nesting deeper than 100 levels");
  std::string attrs = "{{ x";
  for (int i = 0; i < 100000; ++i) attrs += ".a";
  expect_one_line_error(attrs + " }}", "nesting deeper than 100 levels");
}

TEST(JinjaLimits, IntegerDivisionOfMinByMinusOneIsAnOverflowNotSigfpe) {
  expect_one_line_error("{{ (-9223372036854775807 - 1) // -1 }}", "integer overflow");
  EXPECT_EQ(render("{{ (-9223372036854775807 - 1) % -1 }}"), "0");  // Python: 0
  EXPECT_EQ(render("{{ 7 // -1 }} {{ -7 % -1 }} {{ -7 // 2 }} {{ -7 % 2 }}"), "-7 0 -4 1");
}

TEST(JinjaLimits, PowerIsFastAndOverflowIsAnError) {
  EXPECT_EQ(render("{{ 1 ** 100000000000000 }} {{ (-1) ** 100000000000001 }} {{ 0 ** 100000000000000 }}"), "1 -1 0");
  EXPECT_EQ(render("{{ 2 ** 62 }} {{ 3 ** 39 }} {{ (-2) ** 63 }}"), "4611686018427387904 4052555153018976267 -9223372036854775808");
  expect_one_line_error("{{ 2 ** 100000 }}", "integer overflow: 2 ** 100000 does not fit in 64 bits (Python would compute a big int");
  expect_one_line_error("{{ 2 ** 63 }}", "integer overflow");
  expect_one_line_error("{{ 2.0 ** 10000 }}", "float overflow");
}

TEST(JinjaLimits, AdditionSubtractionMultiplicationNegationOverflowAreErrors) {
  expect_one_line_error("{{ 9223372036854775807 + 1 }}", "integer overflow: 9223372036854775807 + 1");
  expect_one_line_error("{{ -9223372036854775807 - 2 }}", "integer overflow");
  expect_one_line_error("{{ 4294967296 * 4294967296 }}", "integer overflow");
  expect_one_line_error("{{ -(-9223372036854775807 - 1) }}", "integer overflow");
  EXPECT_EQ(render("{{ 9223372036854775806 + 1 }}"), "9223372036854775807");
}

TEST(JinjaLimits, RepetitionIsBoundedBeforeAllocating) {
  expect_one_line_error("{{ 'abc' * 1000000000000 }}", "a repeated string's size in bytes");
  expect_one_line_error("{{ [1, 2] * 1000000000000 }}", "a repeated list's length");
  expect_one_line_error("{% set ns = namespace(s='xxxxxxxx') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
                        "a concatenated string's size in bytes");
  EXPECT_EQ(render("{{ 'ab' * 3 }}{{ [1] * 2 }}{{ 'x' * -1 }}"), "ababab[1, 1]");
}

TEST(JinjaLimits, RangeAndLoopsAreBounded) {
  expect_one_line_error("{{ range(100001) | length }}", "MAX_RANGE (100000)");
  expect_one_line_error("{{ range(0, 9223372036854775807, 1) | length }}", "MAX_RANGE (100000)");
  EXPECT_EQ(render("{{ range(100000) | length }} {{ range(10, 0, -3) | list }}"), "100000 [10, 7, 4, 1]");
  expect_one_line_error("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
                        "more than 1000000 loop iterations");
}

TEST(JinjaLimits, FilterWidthsAreBounded) {
  expect_one_line_error("{{ 'a\nb' | indent(1000000000000) }}", "indent()'s width");
  expect_one_line_error("{{ [1] | tojson(indent=1000000000) }}", "tojson()'s indent");
  expect_one_line_error("{{ ('x' * 60000000) | replace('', 'yy') }}", "replace()'s result size");
}

// Lists grown one level per loop iteration: deep nesting, and one sublist
// shared into 2^60 items. Printing, tojson and == are bounded; dropping a deep list does not
// overflow the stack (it crashed with SIGSEGV at 100,000 levels).
TEST(JinjaLimits, ValuesNestedInLoopsAreBounded) {
  const std::string deep =
      "{% set ns = namespace(x=[1], y=[1]) %}{% for i in range(100000) %}{% set ns.x = [ns.x] %}"
      "{% set ns.y = [ns.y] %}{% endfor %}";
  EXPECT_EQ(render(deep + "{{ ns.x|length }}"), "1");
  expect_one_line_error(deep + "{{ ns.x }}", "str: values nested deeper than 1000 levels");
  expect_one_line_error(deep + "{{ ns.x|tojson }}", "tojson: values nested deeper than 1000 levels");
  expect_one_line_error(deep + "{{ ns.x == ns.y }}", "==: values nested deeper than 1000 levels");
  EXPECT_EQ(render(deep + "{{ ns.x == ns.x }}"), "True");  // identity, as Python compares items

  const std::string shared =
      "{% set ns = namespace(x=[1], y=[1]) %}{% for i in range(60) %}{% set ns.x = [ns.x, ns.x] %}"
      "{% set ns.y = [ns.y, ns.y] %}{% endfor %}";
  expect_one_line_error(shared + "{{ ns.x }}", "str: more than 16777216 nested items");
  expect_one_line_error(shared + "{{ ns.x|tojson }}", "tojson: more than 16777216 nested items");
  expect_one_line_error(shared + "{{ ns.x == ns.y }}", "==: more than 16777216 nested items");

  // (A list cannot be made to contain itself: the sandbox refuses list.append.)
  EXPECT_EQ(render("{% set a = [[1, 2], {'k': [3]}] %}{{ a }} {{ a|tojson }} {{ a == [[1, 2], {'k': [3]}] }}"),
            "[[1, 2], {'k': [3]}] [[1, 2], {\"k\": [3]}] True");
}

// Freeing a list nested millions deep (a render may run 10^6 loop iterations, one level each) is
// iterative: shared_ptr's own recursion would overflow the stack.
TEST(JinjaLimits, DroppingADeeplyNestedListDoesNotRecurse) {
  using tt::jinja::Value;
  Value v = Value::from_list({Value::from_int(1)});
  for (int i = 0; i < 2'000'000; ++i) v = Value::from_list({std::move(v)});
  v = Value::none();
  EXPECT_TRUE(v.is_none());
}

}  // namespace
