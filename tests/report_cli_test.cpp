// tinythink report end to end: the CLI on a hand-written study, its errors, and report.html rendered
// by headless Chromium.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>

#include "io/file.h"
#include "report/report_test_fixtures.h"
#include "tests/test_util.h"

namespace {

using tt::testing::run_cli;

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(ReportCli, WritesMarkdownAndHtmlForAStudy) {
  auto dir = tt::testing::make_temp_dir("report-cli");
  auto study = tt::report::testing::make_study(dir + "/study");
  auto result = run_cli("report " + dir + "/study --out " + dir + "/out --metric gsm8k_boxed=exact_match,strict-match");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find(dir + "/out/report.md"), std::string::npos) << result.output;
  std::string md = tt::read_file(dir + "/out/report.md");
  std::string html = tt::read_file(dir + "/out/report.html");
  EXPECT_EQ(static_cast<int>(count_of(html, "<svg")), study.charts);
  // The override is used: sft's gsm8k strict-match is 7.13.
  EXPECT_NE(md.find("`exact_match,strict-match`"), std::string::npos);
  EXPECT_NE(md.find("| sft | 29.01 ± 1.33 | 23.84 ± 0.53 | 7.13 ± 0.71 |"), std::string::npos) << md;
  // Without --out, the study directory.
  result = run_cli("report " + dir + "/study");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(tt::file_exists(dir + "/study/report.html"));
}

TEST(ReportCli, BadInputIsOneLineErrorAndNonZeroExit) {
  auto dir = tt::testing::make_temp_dir("report-cli-bad");
  auto result = run_cli("report " + dir + "/missing");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_EQ(result.output, "error: " + dir + "/missing: no such directory\n");

  tt::report::testing::write_metrics(dir + "/run", 3, false);
  std::ofstream(dir + "/run/metrics.jsonl", std::ios::app) << "{\"step\": 4, \"loss\": nan}\n";
  result = run_cli("report " + dir + "/run");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_EQ(result.output.rfind("error: " + dir + "/run/metrics.jsonl:4:", 0), 0u) << result.output;
  EXPECT_EQ(count_of(result.output, "\n"), 1u) << result.output;

  tt::report::testing::write_text(dir + "/run2/eval/results.json", "{\"results\": [1, 2]}");
  result = run_cli("report " + dir + "/run2");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.output.find(dir + "/run2/eval/results.json"), std::string::npos) << result.output;

  tt::report::testing::write_results(dir + "/run3", {0.1, 0.1, 0.1, 0.1, 0.1, 0.1});
  result = run_cli("report " + dir + "/run3 --metric gsm8k_boxed");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.output.find("expected TASK=METRIC,FILTER"), std::string::npos) << result.output;
}

// Width and height from a PNG's IHDR chunk; {0, 0} when the file is not a PNG.
std::pair<uint32_t, uint32_t> png_size(const std::string& bytes) {
  static const std::string signature = "\x89PNG\r\n\x1a\n";
  if (bytes.size() < 24 || bytes.compare(0, 8, signature) != 0 || bytes.compare(12, 4, "IHDR") != 0) return {0, 0};
  auto be32 = [&](size_t at) {
    return (uint32_t(uint8_t(bytes[at])) << 24) | (uint32_t(uint8_t(bytes[at + 1])) << 16) |
           (uint32_t(uint8_t(bytes[at + 2])) << 8) | uint32_t(uint8_t(bytes[at + 3]));
  };
  return {be32(16), be32(20)};
}

// Renders a local HTML file to a PNG with headless Chromium; returns the PNG's bytes ("" on failure).
std::string screenshot(const std::string& chromium, const std::string& html, const std::string& png,
                       const std::string& home) {
  std::string command = "HOME=" + home + " timeout 90 " + chromium +
                        " --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars"
                        " --screenshot=" + png + " --window-size=1200,2000 file://" + html + " >/dev/null 2>&1";
  int status = std::system(command.c_str());
  if (status != 0 || !tt::file_exists(png)) return "";
  return tt::read_file(png);
}

TEST(ReportCli, HeadlessChromiumRendersTheHtml) {
  std::string chromium;
  for (const char* candidate : {"/usr/bin/chromium", "/usr/bin/chromium-browser"})
    if (std::filesystem::exists(candidate)) {
      chromium = candidate;
      break;
    }
  if (chromium.empty()) GTEST_SKIP() << "chromium is not installed (scripts/test.sh installs it)";

  auto dir = tt::testing::make_temp_dir("report-chromium");
  auto study = tt::report::testing::make_study(dir + "/study");
  auto result = run_cli("report " + dir + "/study --out " + dir + "/out");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  std::string html_path = std::filesystem::absolute(dir + "/out/report.html").string();
  std::string html = tt::read_file(html_path);
  EXPECT_EQ(static_cast<int>(count_of(html, "<svg")), study.charts);
  EXPECT_EQ(count_of(html, "<svg"), count_of(html, "</svg>"));

  // A blank page of the same size, to tell a rendered report from an empty screenshot.
  tt::report::testing::write_text(dir + "/blank.html", "<!DOCTYPE html><html><body></body></html>");
  std::filesystem::create_directories(dir + "/home");
  std::string report_png = screenshot(chromium, html_path, dir + "/report.png", dir + "/home");
  std::string blank_png = screenshot(chromium, dir + "/blank.html", dir + "/blank.png", dir + "/home");
  ASSERT_FALSE(report_png.empty()) << "chromium wrote no screenshot of " << html_path;
  ASSERT_FALSE(blank_png.empty());
  EXPECT_EQ(png_size(report_png), (std::pair<uint32_t, uint32_t>{1200, 2000}));
  EXPECT_GT(report_png.size(), 20000u);
  EXPECT_GT(report_png.size(), 5 * blank_png.size()) << "the report renders like a blank page";
}

}  // namespace
