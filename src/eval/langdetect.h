// Language detection as langdetect 1.0.9 does it (Nakatani Shuyo's language-detection, ported to
// Python by Michal Danilak; the detector the official IFEval checker calls): the same n-gram
// profiles, the same text normalisation (URL/e-mail removal, Vietnamese and CJK folding, the
// capital-word rule) and the same randomised naive-Bayes trials, drawn from py::Random
// (python_compat.h: MT19937, _randbelow, gauss) so that a seeded detection gives Python's
// answer bit for bit (tools/gen_langdetect_fixture.py writes the fixture the test compares).
//
// The profiles and MessageProperties tables are read from the langdetect package itself (Debian's
// python3-langdetect, Apache-2.0, installed by scripts/setup.sh): the directory with profiles/ and
// utils/messages.properties is $TINYTHINK_LANGDETECT, else /usr/lib/python3/dist-packages/langdetect.
// Reading the package's own files keeps the data byte-identical to what Python loads, in the same
// (readdir) order. That order is the filesystem's (hashed on ext4), so it differs between machines;
// it only changes the last bits of the probabilities (the order of a sum: with sorted instead of
// readdir order, Python's langdetect changed them on 388 of the 1082 IFEval texts of the fixture
// and no decision), and a caller that must reproduce another machine's run bit for bit passes that
// machine's order.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tt::eval {

class LangDetector {
 public:
  // Loads profiles/* and utils/messages.properties from a langdetect package directory; throws
  // tt::Error naming the file on a missing or malformed one. profile_order: the profile
  // file names in the order langdetect numbers them (DetectorFactory.langlist); empty = readdir
  // order, as os.listdir gives it to langdetect on this machine.
  explicit LangDetector(const std::string& package_dir,
                        const std::vector<std::string>& profile_order = {});
  // The detector of $TINYTHINK_LANGDETECT (default /usr/lib/python3/dist-packages/langdetect),
  // loaded on first use.
  static const LangDetector& installed();
  static std::string installed_dir();

  // langdetect.detect(text) with DetectorFactory.seed = seed: the language code ("en", "zh-cn",
  // ...), "unknown" when no language passes 0.1, or nullopt where langdetect raises
  // LangDetectException ("No features in text").
  std::optional<std::string> detect(std::string_view utf8_text, uint32_t seed = 0) const;
  // detect_langs(text): (language, probability) above 0.1, most probable first; empty when no
  // features (where langdetect raises).
  std::vector<std::pair<std::string, double>> probabilities(std::string_view utf8_text,
                                                            uint32_t seed = 0) const;
  const std::vector<std::string>& languages() const { return languages_; }

  // The text the detector works on after Detector.append and cleaning_text, and its n-grams (for
  // tests).
  std::u32string prepared_text(std::string_view utf8_text) const;
  std::vector<std::u32string> ngrams(const std::u32string& prepared) const;
  char32_t normalize(char32_t ch) const;

 private:
  void load_messages(const std::string& path);
  void load_profile(const std::string& path, size_t index, size_t language_count);
  std::u32string normalize_vi(const std::u32string& text) const;
  // Detector._detect_block then _sort_probability; nullopt where there are no n-grams.
  std::optional<std::vector<std::pair<std::string, double>>> ranked(std::string_view utf8_text,
                                                                    uint32_t seed) const;
  std::vector<double> detect_block(const std::vector<std::u32string>& ngrams, uint32_t seed) const;

  std::vector<std::string> languages_;
  // word_lang_prob_map: per n-gram, its probability in each language (profile order).
  std::unordered_map<std::u32string, std::vector<double>> words_;
  std::u32string latin1_excluded_, to_normalize_vi_, dmark_class_;
  std::vector<std::u32string> normalized_vi_;  // per diacritical mark
  std::unordered_map<char32_t, char32_t> cjk_map_;
};

}  // namespace tt::eval
