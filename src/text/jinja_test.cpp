// The interpreter against python3-jinja2 (configured like transformers): every case in
// tests/fixtures/chat_templates/jinja_cases.json was rendered by tools/gen_template_fixtures.py.
#include "text/jinja.h"

#include <fstream>

#include <gtest/gtest.h>

#include "core/error.h"
#include "tests/test_util.h"
#include "text/jinja_value.h"

namespace {

nlohmann::ordered_json load_json(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  return nlohmann::ordered_json::parse(in);
}

std::string render(const std::string& source, const nlohmann::ordered_json& variables = nlohmann::ordered_json::object()) {
  return tt::jinja::Template(source).render(variables).text;
}

std::string error_of(const std::string& source, const nlohmann::ordered_json& variables = nlohmann::ordered_json::object()) {
  try {
    render(source, variables);
  } catch (const tt::Error& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(Jinja, MatchesPythonJinja2OnEveryCase) {
  auto cases = load_json(tt::testing::fixture_dir() + "/chat_templates/jinja_cases.json");
  ASSERT_GT(cases.size(), 40u);
  for (auto it = cases.begin(); it != cases.end(); ++it) {
    SCOPED_TRACE(it.key());
    const auto& c = it.value();
    const std::string source = c["template"];
    if (c.contains("error")) {
      EXPECT_THROW(tt::jinja::Template(source).render(c["variables"]), tt::Error) << c["error"];
      continue;
    }
    tt::jinja::RenderResult result;
    try {
      result = tt::jinja::Template(source).render(c["variables"]);
    } catch (const tt::Error& e) {
      ADD_FAILURE() << e.what();
      continue;
    }
    EXPECT_EQ(result.text, c["text"].get<std::string>());
    std::vector<std::pair<size_t, size_t>> spans;
    for (const auto& s : c["spans"]) spans.emplace_back(s[0].get<size_t>(), s[1].get<size_t>());
    EXPECT_EQ(result.generation_spans, spans);
  }
}

TEST(Jinja, RaiseExceptionCarriesTheMessage) {
  std::string e = error_of("ab\n  {{ raise_exception('Only user and assistant roles') }}");
  EXPECT_NE(e.find("Only user and assistant roles"), std::string::npos) << e;
  EXPECT_EQ(e.rfind("<chat_template>:2:", 0), 0u) << e;
}

TEST(Jinja, SyntaxErrorsNameFileLineAndColumn) {
  std::string e;
  try {
    tt::jinja::Template("line one\n{% if x %}\n{% endfor %}", "my/template.jinja");
  } catch (const tt::Error& err) {
    e = err.what();
  }
  EXPECT_EQ(e.rfind("my/template.jinja:3:4: template syntax error", 0), 0u) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos);
  e = error_of("{{ 'unterminated }}");
  EXPECT_EQ(e.rfind("<chat_template>:1:4:", 0), 0u) << e;
  e = error_of("{{ x + }}");
  EXPECT_EQ(e.rfind("<chat_template>:1:", 0), 0u) << e;
  e = error_of("{# open comment");
  EXPECT_NE(e.find("comment"), std::string::npos) << e;
}

TEST(Jinja, UnsupportedFeaturesFailNamingThem) {
  std::string e = error_of("{% include 'other.jinja' %}");
  EXPECT_NE(e.find("'include' tag is not supported"), std::string::npos) << e;
  e = error_of("x\n{% if false %}{{ s | wordwrap(3) }}{% endif %}");  // even in a branch not taken
  EXPECT_EQ(e, "<chat_template>:2:22: filter 'wordwrap' is not supported by tinythink");
  e = error_of("{{ 1 is prime }}");
  EXPECT_NE(e.find("test 'prime' is not supported"), std::string::npos) << e;
  e = error_of("{% for x in xs recursive %}{% endfor %}");
  EXPECT_NE(e.find("recursive for loops are not supported"), std::string::npos) << e;
  e = error_of("{{ '%s' % 1 }}");
  EXPECT_NE(e.find("'%' string formatting is not supported"), std::string::npos) << e;
  e = error_of("{{ 'a{}'.format(1) }}");
  EXPECT_NE(e.find("str.format() is not supported"), std::string::npos) << e;
  e = error_of("{{ {1: 2} }}");
  EXPECT_NE(e.find("dict keys other than strings"), std::string::npos) << e;
  e = error_of("{% macro m() %}{% generation %}x{% endgeneration %}{% endmacro %}{{ m() }}");
  EXPECT_NE(e.find("generation %} inside a macro"), std::string::npos) << e;
  e = error_of("{{ x }}{{ y.z }}", {{"x", 1}});
  EXPECT_EQ(e, "<chat_template>:1:11: 'y' is undefined");
}

TEST(Jinja, FloatReprMatchesPython) {
  using tt::jinja::float_repr;
  EXPECT_EQ(float_repr(0.1), "0.1");
  EXPECT_EQ(float_repr(1e16), "1e+16");
  EXPECT_EQ(float_repr(123456789012345.0), "123456789012345.0");
  EXPECT_EQ(float_repr(0.0001), "0.0001");
  EXPECT_EQ(float_repr(0.00001234), "1.234e-05");
  EXPECT_EQ(float_repr(-2.5), "-2.5");
  EXPECT_EQ(float_repr(1.0 / 3), "0.3333333333333333");
}

TEST(Jinja, StrftimeNowFormatsLocalTime) {
  std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y", &local);
  EXPECT_EQ(render("{{ strftime_now('%Y') }}"), buf);
}

}  // namespace
