// Python str / re / random behaviour (src/eval/python_compat.h); expected values are CPython 3.11's.
#include "eval/python_compat.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <unicode/uchar.h>

#include "core/error.h"

using namespace tt::eval;

TEST(PythonCompatRegex, FindallAndSub) {
  // re.findall('x*', 'abxd') == ['', '', 'x', '', ''];  re.sub('x*', '-', 'abxd') == '-a-b--d-'
  const py::Regex xs("x*");
  const auto m = xs.findall("abxd");
  ASSERT_EQ(m.size(), 5u);
  EXPECT_EQ(m[2][0], "x");
  EXPECT_EQ(xs.sub("abxd", "-"), "-a-b--d-");
  // re.findall(r'(a)|(b)', 'ab') == [('a', ''), ('', 'b')]
  const auto groups = py::Regex("(a)|(b)").findall("ab");
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0], (std::vector<std::string>{"a", ""}));
  EXPECT_EQ(groups[1], (std::vector<std::string>{"", "b"}));
  // Unicode-aware \b and \w, as Python's str patterns: "é" is a word character.
  EXPECT_EQ(py::Regex("\\b(\\w+)\\b").findall("café noir").size(), 2u);
  // '$' also matches before a final newline; '.' does not match a newline.
  EXPECT_EQ(py::Regex("\\.$").sub("done.\n"), "done\n");
  EXPECT_EQ(py::Regex("a.b").findall("a\nb").size(), 0u);
  // Invalid UTF-8 reads as U+FFFD and never throws.
  EXPECT_EQ(py::Regex("(\\d+)").findall("\xff" "12\xfe")[0][0], "12");
  EXPECT_THROW(py::Regex("(unclosed"), tt::Error);
}

TEST(PythonCompatRegex, SplitSearchCountAndTemplates) {
  using py::Regex;
  EXPECT_EQ(Regex("x*").sub("abxd", "-"), "-a-b--d-");  // empty matches as Python 3.7+
  EXPECT_EQ(Regex("(-)").split("a-b"), (std::vector<std::string>{"a", "-", "b"}));
  EXPECT_TRUE(Regex("a$").search("a\n"));                // '$' before a final newline
  EXPECT_EQ(Regex("^", Regex::kMultiline).count("a\n"), 2u);
  EXPECT_EQ(Regex(R"(\w+)").count("über straße 42"), 3u);
  EXPECT_EQ(Regex("(a)(b)?").sub("ac", "[\\1\\2]"), "[a]c");  // an unset group is ""
  EXPECT_THROW(Regex("(unclosed"), tt::Error);
  // re.sub(r'(\w)(\d)', r'\g<2>\g<0>\\', 'a1 b2') == '1a1\\ 2b2\\'
  EXPECT_EQ(Regex(R"((\w)(\d))").sub("a1 b2", "\\g<2>\\g<0>\\\\"), "1a1\\ 2b2\\");
  EXPECT_TRUE(Regex("HELLO", Regex::kIgnoreCase).search("say hello"));
  // re.match anchors at the start only.
  EXPECT_EQ(Regex("ab+").match_prefix("abbc"), 3u);
  EXPECT_EQ(Regex("b+").match_prefix("abbc"), std::nullopt);
  // finditer's spans, and stopping early.
  std::vector<std::pair<size_t, size_t>> spans;
  Regex("b+").for_each("abbcb", [&](const Regex::Match& m) {
    spans.emplace_back(m.begin, m.end);
    return true;
  });
  EXPECT_EQ(spans, (std::vector<std::pair<size_t, size_t>>{{1, 3}, {4, 5}}));
  int seen = 0;
  Regex("b").for_each("bbb", [&](const Regex::Match&) { return ++seen < 2; });
  EXPECT_EQ(seen, 2);
  EXPECT_EQ(Regex("x").pattern(), "x");
  EXPECT_EQ(Regex("(a)(?:b)(c)").group_count(), 2);
}

TEST(PythonCompatStr, StringHelpers) {
  EXPECT_EQ(py::lower("\xCE\xA3\xCE\x91\xCE\xA3"), "\xCF\x83\xCE\xB1\xCF\x82");  // 'ΣΑΣ'.lower() == 'σας'
  EXPECT_EQ(py::lower("\xC3\x80" "B"), "\xC3\xA0" "b");                          // 'ÀB' -> 'àb'
  EXPECT_EQ(py::lower("\xC4\xB0"), "i\xCC\x87");                                  // 'İ' -> 'i̇'
  EXPECT_EQ(py::strip(" \xC2\xA0x y\xE3\x80\x80"), "x y");                        // NBSP, ideographic space
  EXPECT_EQ(py::split(" a\xE2\x80\x83" "b\x1c" "c "), (std::vector<std::string_view>{"a", "b", "c"}));
  EXPECT_EQ(py::remove_punctuation("a,b\xE2\x80\x94" "c\xE2\x80\x9C" "d\xE2\x80\x9D!$"), "abcd$");  // '$' is Sc
  EXPECT_EQ(py::regex_escape("a.b (c)&~#-"), "a\\.b\\ \\(c\\)\\&\\~\\#\\-");
  EXPECT_EQ(py::strip(""), "");
  EXPECT_NO_THROW(py::lower("\xff\xfe"));
}

TEST(PythonCompatStr, PythonStringSemantics) {
  EXPECT_EQ(py::strip("\u3000 hi\u00a0\n"), "hi");
  EXPECT_EQ(py::split(" a\u2003b  c "), (std::vector<std::string_view>{"a", "b", "c"}));
  EXPECT_EQ(py::lower("ΣΑΣ İ"), "σας i̇");
  EXPECT_TRUE(py::isupper("HELLO 123"));
  EXPECT_FALSE(py::isupper("123"));
  EXPECT_FALSE(py::isupper("HELLo"));
  EXPECT_TRUE(py::islower("ß and ǆ? no"));
  EXPECT_FALSE(py::islower("ǅ"));  // a title-case letter
}

TEST(PythonCompatStr, StripVariantsAndLength) {
  EXPECT_EQ(py::lstrip("\t a \n"), "a \n");
  EXPECT_EQ(py::rstrip("\t a \n"), "\t a");
  EXPECT_EQ(py::strip_chars("**bold**", "*"), "bold");
  EXPECT_EQ(py::strip("\x1c" "x\x1f"), "x");  // str.isspace() is true for U+001C..U+001F
  EXPECT_EQ(py::rstrip("a \x80"), "a \x80");  // a stray continuation byte is not whitespace
  EXPECT_EQ(py::len("\xC3\xA9\xC3\xA9"), 2);
  EXPECT_EQ(py::len("\xE2\x82\xAC" "5 \xF0\x9F\x98\x80"), 4);  // euro sign, 5, space, emoji
  EXPECT_EQ(py::len(""), 0);
}

// Python's str.isspace(): bidi class WS, B or S, or category Zs; that is Unicode's White_Space
// plus the four separators U+001C..U+001F.
TEST(PythonCompatStr, IsSpaceIsWhiteSpacePlusSeparators) {
  for (uint32_t cp = 0; cp <= 0x10FFFF; ++cp)
    ASSERT_EQ(py::isspace(cp), u_isUWhiteSpace(static_cast<UChar32>(cp)) || (cp >= 0x1C && cp <= 0x1F)) << cp;
}

// Expected values from CPython 3.11:
//   r = random.Random(1234); [r.getrandbits(32) for _ in range(3)]
//   r = random.Random(1234); r.sample(range(1119), 5), r.sample(range(1119), 5), r.sample(range(1119), 25)[:8]
//   r = random.Random(2**40 + 7); r.sample(range(10), 10), r.sample(range(300), 7)
// CPython 3.11: random.seed(0); getrandbits(32) x3; random(); gauss(0, 1) twice (the second is the
// cached sin() value of the first pair).
TEST(PythonCompatRandom, RandomAndGaussMatchCPython) {
  py::Random bits(0);
  EXPECT_EQ(bits.getrandbits32(), 3626764237u);
  EXPECT_EQ(bits.getrandbits32(), 1654615998u);
  EXPECT_EQ(bits.getrandbits32(), 3255389356u);
  EXPECT_EQ(py::Random(0).random(), 0.8444218515250481);
  py::Random normal(0);
  EXPECT_EQ(normal.gauss(0.0, 1.0), 0.9417154046806644);
  EXPECT_EQ(normal.gauss(0.0, 1.0), -1.3965781047011498);
  EXPECT_EQ(py::Random(42).randbelow(1000000), 670487u);
}

TEST(PythonCompatRandom, MatchesCPython) {
  py::Random bits(1234);
  EXPECT_EQ(bits.getrandbits32(), 4150886329u);
  EXPECT_EQ(bits.getrandbits32(), 3342196574u);
  EXPECT_EQ(bits.getrandbits32(), 1892932127u);

  py::Random rng(1234);
  EXPECT_EQ(rng.sample(1119, 5), (std::vector<int64_t>{902, 239, 15, 185, 71}));
  EXPECT_EQ(rng.sample(1119, 5), (std::vector<int64_t>{171, 201, 726, 484, 35}));
  const auto big = rng.sample(1119, 25);
  EXPECT_EQ(std::vector<int64_t>(big.begin(), big.begin() + 8),
            (std::vector<int64_t>{63, 32, 708, 991, 949, 304, 186, 374}));

  py::Random wide((uint64_t{1} << 40) + 7);  // a two-word seed key; the pool algorithm (n <= 21)
  EXPECT_EQ(wide.sample(10, 10), (std::vector<int64_t>{9, 7, 4, 8, 1, 6, 3, 2, 5, 0}));
  EXPECT_EQ(wide.sample(300, 7), (std::vector<int64_t>{226, 230, 190, 115, 227, 92, 70}));
  EXPECT_THROW(wide.sample(3, 4), tt::Error);
}
