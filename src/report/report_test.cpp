#include "report/report.h"

#include <gtest/gtest.h>

#include <regex>

#include "core/error.h"
#include "core/log.h"
#include "io/file.h"
#include "report/report_test_fixtures.h"
#include "tests/test_util.h"

namespace tt::report {
namespace {

using testing::ojson;
using testing::write_text;

ReportOptions options(std::vector<std::string> dirs, std::string out_dir = "") {
  ReportOptions o;
  o.dirs = std::move(dirs);
  o.out_dir = std::move(out_dir);
  return o;
}

struct QuietLogs {
  QuietLogs() { log_quiet() = true; }
  ~QuietLogs() { log_quiet() = false; }
};

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Cells of the Markdown table under the heading `## <heading>` (header row first, rule row dropped),
// splitting on unescaped '|'.
std::vector<std::vector<std::string>> md_table(const std::string& md, const std::string& heading) {
  std::vector<std::vector<std::string>> rows;
  size_t at = md.find("\n## " + heading + "\n");
  if (at == std::string::npos) return rows;
  std::istringstream in(md.substr(at + 1));
  std::string line;
  bool in_table = false;
  while (std::getline(in, line)) {
    if (line.rfind("|", 0) != 0) {
      if (in_table) break;
      continue;
    }
    in_table = true;
    if (line.rfind("|---", 0) == 0) continue;
    std::vector<std::string> cells;
    std::string cell;
    for (size_t i = 1; i < line.size(); ++i) {
      if (line[i] == '\\' && i + 1 < line.size()) {
        cell += line[++i];
      } else if (line[i] == '|') {
        cells.push_back(cell.substr(cell.find_first_not_of(' '), cell.find_last_not_of(' ') - cell.find_first_not_of(' ') + 1));
        cell.clear();
      } else {
        cell += line[i];
      }
    }
    rows.push_back(cells);
  }
  return rows;
}

// "9.40 ± 0.80" -> {9.40, 0.80}; "9.40" -> {9.40, NaN}; "—" -> {NaN, NaN}
std::pair<double, double> parse_cell(const std::string& cell) {
  if (cell == "—") return {kMissing, kMissing};
  size_t pm = cell.find(" ± ");
  if (pm == std::string::npos) return {std::stod(cell), kMissing};
  return {std::stod(cell.substr(0, pm)), std::stod(cell.substr(pm + std::string(" ± ").size()))};
}

// The fixture's headline keys, written out by hand (not through headline_metric).
const std::map<std::string, std::string> kFixtureMetric = {{"arc_challenge", "acc_norm,none"},
                                                            {"bbh_zeroshot", "exact_match,flexible-extract"},
                                                            {"gsm8k_boxed", "exact_match,flexible-extract"},
                                                            {"ifeval", "prompt_level_strict_acc,none"},
                                                            {"mmlu_stem", "acc,none"}};

std::string stderr_key_of(const std::string& key) {
  size_t comma = key.find(',');
  return key.substr(0, comma) + "_stderr" + key.substr(comma);
}

// The value and stderr of a benchmark read straight from a run's results.json; NaN when absent/"N/A".
std::pair<double, double> from_results(const std::string& run_dir, const std::string& task, const std::string& key) {
  auto results = read_json_file(run_dir + "/eval/results.json");
  const auto& section = results["groups"].contains(task) ? results["groups"] : results["results"];
  if (!section.contains(task)) return {kMissing, kMissing};
  const auto& entry = section[task];
  double value = entry.contains(key) && entry[key].is_number() ? entry[key].get<double>() : kMissing;
  std::string sk = stderr_key_of(key);
  double error = entry.contains(sk) && entry[sk].is_number() ? entry[sk].get<double>() : kMissing;
  return {value, error};
}

// A printed number (2 decimals, percent) equals 100·x to the printed precision.
void expect_printed(double printed, double x, const std::string& where) {
  if (std::isnan(x)) {
    EXPECT_TRUE(std::isnan(printed)) << where;
    return;
  }
  EXPECT_NEAR(printed, 100 * x, 0.005 + 1e-9) << where;
}

TEST(ReportHeadline, RulesPerTaskFamily) {
  EXPECT_EQ(headline_metric("gsm8k", {"exact_match,strict-match", "exact_match,flexible-extract"}),
            "exact_match,flexible-extract");
  EXPECT_EQ(headline_metric("gsm8k_cot", {"exact_match,strict-match", "exact_match,get-answer"}), "exact_match,strict-match");
  EXPECT_EQ(headline_metric("math500", {"exact_match,none"}), "exact_match,none");
  EXPECT_EQ(headline_metric("math500", {"math_verify,none"}), "math_verify,none");
  EXPECT_EQ(headline_metric("bbh_zeroshot", {"exact_match,strict-match", "exact_match,flexible-extract"}),
            "exact_match,flexible-extract");
  EXPECT_EQ(headline_metric("ifeval", {"inst_level_strict_acc,none", "prompt_level_strict_acc,none",
                                       "prompt_level_loose_acc,none"}),
            "prompt_level_strict_acc,none");
  EXPECT_EQ(headline_metric("mmlu_stem", {"acc,none"}), "acc,none");
  EXPECT_EQ(headline_metric("arc_challenge", {"acc,none", "acc_norm,none"}), "acc_norm,none");
  EXPECT_EQ(headline_metric("piqa", {"acc,none", "acc_norm,none"}), "acc_norm,none");
  EXPECT_EQ(headline_metric("my_task", {"f1,none", "bleu,none"}), "f1,none");
  EXPECT_EQ(headline_metric("my_task", {}), "");
}

TEST(ReportTable, GroupsHideSubtasksAndCellsEqualResults) {
  QuietLogs quiet;
  auto dir = tt::testing::make_temp_dir("report-table");
  auto study = testing::make_study(dir);
  auto inputs = load_inputs({dir});
  EXPECT_EQ(inputs.title, "tiny-think");
  ASSERT_EQ(inputs.runs.size(), 8u);
  auto table = benchmark_table(inputs.runs, {});

  std::vector<std::string> names, metrics;
  for (const auto& b : table.benchmarks) names.push_back(b.name), metrics.push_back(b.metric);
  EXPECT_EQ(names, (std::vector<std::string>{"arc_challenge", "bbh_zeroshot", "gsm8k_boxed", "ifeval", "mmlu_stem"}));
  for (const auto& b : table.benchmarks) {
    EXPECT_EQ(b.metric, kFixtureMetric.at(b.name)) << b.name;
    EXPECT_TRUE(b.percent) << b.name;
  }
  EXPECT_TRUE(table.benchmarks[1].group);   // bbh_zeroshot
  EXPECT_FALSE(table.benchmarks[2].group);  // gsm8k_boxed
  EXPECT_TRUE(table.benchmarks[4].group);   // mmlu_stem

  ASSERT_EQ(table.rows.size(), study.tabled.size());  // apo_zero has no results
  for (size_t r = 0; r < table.rows.size(); ++r) {
    const report::Run& run = inputs.runs[table.rows[r]];
    EXPECT_EQ(run.name, study.tabled[r]);
    for (size_t b = 0; b < table.benchmarks.size(); ++b) {
      auto [value, error] = from_results(run.dir, table.benchmarks[b].name, table.benchmarks[b].metric);
      const Score& cell = table.cells[r][b];
      if (std::isnan(value)) {
        EXPECT_FALSE(cell.present()) << run.name << " " << table.benchmarks[b].name;
      } else {
        EXPECT_EQ(cell.value, value) << run.name << " " << table.benchmarks[b].name;
      }
      if (std::isnan(error)) EXPECT_TRUE(std::isnan(cell.error));
      else EXPECT_EQ(cell.error, error);
    }
  }
  // dpo_b1_lr3e-6 has no ifeval; mmlu_stem's stderr is "N/A".
  EXPECT_FALSE(table.cells[6][3].present());
  EXPECT_TRUE(table.cells[0][4].present());
  EXPECT_TRUE(std::isnan(table.cells[0][4].error));
  EXPECT_EQ(format_score(table.cells[0][4], true), "24.67");
  EXPECT_EQ(format_score(table.cells[6][3], true), "—");
}

TEST(ReportTable, LiteralLmEvalFileWithoutGroupsSection) {
  QuietLogs quiet;
  auto dir = tt::testing::make_temp_dir("report-literal");
  // Older lm-eval: no "groups" section, the group's row in "results", its subtasks in group_subtasks;
  // a metric that is not a fraction (perplexity) is shown raw.
  write_text(dir + "/eval/results.json", R"({
  "results": {
    "mmlu_stem": {"alias": "stem", "acc,none": 0.2588, "acc_stderr,none": 0.0077},
    "mmlu_astronomy": {"alias": " - astronomy", "acc,none": 0.25, "acc_stderr,none": 0.035},
    "lambada_openai": {"alias": "lambada_openai", "perplexity,none": 41.5, "perplexity_stderr,none": 1.25,
                       "acc,none": 0.31, "acc_stderr,none": "N/A"},
    "gsm8k": {"alias": "gsm8k", "exact_match,strict-match": 0.0152, "exact_match_stderr,strict-match": 0.0034}
  },
  "group_subtasks": {"mmlu_stem": ["mmlu_astronomy"], "gsm8k": [], "lambada_openai": []},
  "n-samples": {"gsm8k": {"original": 1319, "effective": 1319}}
})");
  auto inputs = load_inputs({dir});
  auto table = benchmark_table(inputs.runs, {{"lambada_openai", "perplexity"}});
  ASSERT_EQ(table.benchmarks.size(), 3u);
  EXPECT_EQ(table.benchmarks[0].name, "mmlu_stem");
  EXPECT_TRUE(table.benchmarks[0].group);
  EXPECT_EQ(table.benchmarks[1].name, "lambada_openai");
  EXPECT_EQ(table.benchmarks[1].metric, "perplexity,none");
  EXPECT_FALSE(table.benchmarks[1].percent);
  EXPECT_EQ(table.benchmarks[2].metric, "exact_match,strict-match");  // no flexible-extract: the first one
  EXPECT_EQ(format_score(table.cells[0][0], true), "25.88 ± 0.77");
  EXPECT_EQ(format_score(table.cells[0][1], false), "41.5000 ± 1.2500");
  EXPECT_EQ(format_score(table.cells[0][2], true), "1.52 ± 0.34");
}

// Python's json.dumps writes NaN and Infinity bare (lm-eval's results.json does, for a degenerate
// metric or stderr): the file was refused as invalid JSON; those values are now missing, and the same
// words inside strings are kept.
TEST(ReportTable, PythonNanAndInfinityReadAsMissing) {
  QuietLogs quiet;
  auto dir = tt::testing::make_temp_dir("report-nan");
  write_text(dir + "/eval/results.json", R"({
  "results": {
    "mmlu_stem": {"alias": "NaN \"Infinity\" -Infinity", "acc,none": 0.25, "acc_stderr,none": NaN},
    "gsm8k": {"alias": "gsm8k", "exact_match,flexible-extract": NaN, "exact_match_stderr,flexible-extract": Infinity},
    "ifeval": {"alias": "ifeval", "prompt_level_strict_acc,none": 0.5, "prompt_level_strict_acc_stderr,none": -Infinity}
  },
  "group_subtasks": {"mmlu_stem": [], "gsm8k": [], "ifeval": []}
})");
  auto inputs = load_inputs({dir});
  EXPECT_EQ(inputs.runs[0].results["results"]["mmlu_stem"]["alias"], "NaN \"Infinity\" -Infinity");
  auto table = benchmark_table(inputs.runs, {});
  ASSERT_EQ(table.benchmarks.size(), 3u);
  for (size_t b = 0; b < 3; ++b) {
    const auto& cell = table.cells[0][b];
    if (table.benchmarks[b].name == "gsm8k") {
      EXPECT_FALSE(cell.present());
    } else {
      EXPECT_TRUE(cell.present()) << table.benchmarks[b].name;
      EXPECT_TRUE(std::isnan(cell.error)) << table.benchmarks[b].name;
    }
  }
}

TEST(ReportTax, DeltasAgainstParentWithCombinedStderr) {
  QuietLogs quiet;
  auto dir = tt::testing::make_temp_dir("report-tax");
  auto study = testing::make_study(dir);
  auto inputs = load_inputs({dir});
  auto table = benchmark_table(inputs.runs, {});
  auto deltas = capability_tax(inputs.runs, table);
  ASSERT_EQ(static_cast<int>(deltas.size()), study.deltas);
  std::vector<std::string> pairs;
  for (const auto& d : deltas) pairs.push_back(inputs.runs[d.run].name + "-" + inputs.runs[d.parent].name);
  EXPECT_EQ(pairs, (std::vector<std::string>{"sft-base", "sft_lr2e-5-base", "dpo_b0.5_lr1e-6-sft", "dpo_b0.5_lr3e-6-sft",
                                             "dpo_b1_lr1e-6-sft", "dpo_b1_lr3e-6-sft"}));
  for (const auto& d : deltas) {
    for (size_t b = 0; b < table.benchmarks.size(); ++b) {
      const auto& bench = table.benchmarks[b];
      auto [child, child_se] = from_results(inputs.runs[d.run].dir, bench.name, bench.metric);
      auto [parent, parent_se] = from_results(inputs.runs[d.parent].dir, bench.name, bench.metric);
      const Score& delta = d.values[b];
      if (std::isnan(child) || std::isnan(parent)) {
        EXPECT_FALSE(delta.present());
        continue;
      }
      EXPECT_DOUBLE_EQ(delta.value, child - parent);
      if (std::isnan(child_se) || std::isnan(parent_se)) EXPECT_TRUE(std::isnan(delta.error)) << bench.name;
      else EXPECT_DOUBLE_EQ(delta.error, std::sqrt(child_se * child_se + parent_se * parent_se));
    }
  }
  // The paper's headline: DPO(β=1, lr 3e-6) − SFT on BBH = 13.18 − 23.84 = −10.66 pp.
  EXPECT_EQ(format_delta(deltas[5].values[1], true).substr(0, 7), "-10.66 ");
  EXPECT_EQ(format_delta(deltas[5].values[3], true), "—");  // no ifeval in the child
  EXPECT_EQ(format_delta(deltas[0].values[4], true), "+0.74");  // mmlu_stem: "N/A" stderr on both sides
}

TEST(ReportSweeps, FindsTheVaryingParams) {
  QuietLogs quiet;
  auto dir = tt::testing::make_temp_dir("report-sweeps");
  testing::make_study(dir);
  auto inputs = load_inputs({dir});
  auto table = benchmark_table(inputs.runs, {});
  auto sweeps = find_sweeps(inputs.runs, table);
  ASSERT_EQ(sweeps.size(), 2u);
  EXPECT_EQ(sweeps[0].name, "sft_lr");
  EXPECT_EQ(sweeps[0].varying, (std::vector<std::string>{"learning_rate"}));
  EXPECT_EQ(sweeps[0].runs.size(), 2u);
  EXPECT_EQ(sweeps[1].name, "dpo_grid");
  EXPECT_EQ(sweeps[1].varying, (std::vector<std::string>{"beta", "learning_rate"}));  // loss_type is constant
  EXPECT_EQ(sweeps[1].runs.size(), 4u);
  EXPECT_EQ(format_param(ojson(3e-6)), "3e-6");
  EXPECT_EQ(format_param(ojson(0.5)), "0.5");
  EXPECT_EQ(format_param(ojson(8)), "8");
  EXPECT_EQ(format_param(ojson("sigmoid")), "sigmoid");
}

TEST(ReportWrite, MarkdownNumbersParseBackToResultsJson) {
  QuietLogs quiet;
  auto dir = tt::testing::make_temp_dir("report-md");
  auto study = testing::make_study(dir);
  auto summary = write_report(options({dir}));
  EXPECT_EQ(summary.markdown_path, dir + "/report.md");
  std::string md = read_file(summary.markdown_path);

  auto rows = md_table(md, "Benchmarks");
  ASSERT_EQ(rows.size(), study.tabled.size() + 1) << md;
  const auto& header = rows[0];
  ASSERT_EQ(static_cast<int>(header.size()), study.benchmarks + 1);
  for (size_t r = 1; r < rows.size(); ++r) {
    std::string run_dir = dir + "/runs/" + rows[r][0];
    EXPECT_EQ(rows[r][0], study.tabled[r - 1]);
    for (size_t c = 1; c < header.size(); ++c) {
      auto [value, error] = from_results(run_dir, header[c], kFixtureMetric.at(header[c]));
      auto [printed_value, printed_error] = parse_cell(rows[r][c]);
      expect_printed(printed_value, value, rows[r][0] + " " + header[c]);
      if (!std::isnan(value)) expect_printed(printed_error, error, rows[r][0] + " " + header[c] + " stderr");
    }
  }

  auto tax = md_table(md, "Capability tax");
  ASSERT_EQ(static_cast<int>(tax.size()), study.deltas + 1) << md;
  for (size_t r = 1; r < tax.size(); ++r) {
    for (size_t c = 2; c < tax[0].size(); ++c) {
      const std::string& task = tax[0][c];
      auto [child, child_se] = from_results(dir + "/runs/" + tax[r][0], task, kFixtureMetric.at(task));
      auto [parent, parent_se] = from_results(dir + "/runs/" + tax[r][1], task, kFixtureMetric.at(task));
      auto [printed, printed_se] = parse_cell(tax[r][c]);
      std::string where = tax[r][0] + " " + task;
      expect_printed(printed, child - parent, where);
      if (!std::isnan(child - parent)) expect_printed(printed_se, std::hypot(child_se, parent_se), where + " stderr");
    }
  }
  // Every run is listed, the one without results too.
  auto runs = md_table(md, "Runs");
  ASSERT_EQ(runs.size(), 9u);
  EXPECT_EQ(runs[8][0], "apo_zero");
  EXPECT_EQ(runs[8][5], "none");
  EXPECT_EQ(runs[8][6], "12 rows");
  EXPECT_EQ(runs[4][4], "beta=0.5, learning_rate=1e-6, loss_type=sigmoid");
  // The heat-map's grid is in the Markdown too: rows beta, columns learning_rate.
  EXPECT_NE(md.find("| 1 | 19.05 ± 0.49 | 13.18 ± 0.42 |"), std::string::npos) << md;
}

TEST(ReportWrite, HtmlIsSelfContainedWithOneSvgPerChart) {
  QuietLogs quiet;
  auto dir = tt::testing::make_temp_dir("report-html");
  auto study = testing::make_study(dir);
  auto out = dir + "/out";
  auto summary = write_report(options({dir}, out));
  EXPECT_EQ(summary.runs, 8);
  EXPECT_EQ(summary.runs_with_results, 7);
  EXPECT_EQ(summary.benchmarks, study.benchmarks);
  EXPECT_EQ(summary.deltas, study.deltas);
  EXPECT_EQ(summary.charts, study.charts);
  std::string html = read_file(out + "/report.html");
  EXPECT_EQ(static_cast<int64_t>(count_of(html, "<svg")), summary.charts);
  EXPECT_EQ(count_of(html, "</svg>"), count_of(html, "<svg"));
  EXPECT_NE(html.find("<title>tinythink report: tiny-think</title>"), std::string::npos);
  EXPECT_NE(html.find("<style>"), std::string::npos);
  for (const char* external : {"<script", "<link", "http://", "https://", "@import", "url("})
    EXPECT_EQ(html.find(external), std::string::npos) << external;
  // The capability-tax chart: one bar per stage and benchmark that has a delta, and a zero line.
  size_t tax_begin = html.find("<svg"), tax_end = html.find("</svg>", tax_begin);
  std::string tax = html.substr(tax_begin, tax_end - tax_begin);
  EXPECT_NE(tax.find("Capability tax"), std::string::npos);
  EXPECT_EQ(count_of(tax, "</title></rect>"), 6u * 5u - 1u);  // 6 stages × 5 benchmarks, minus the missing ifeval
  EXPECT_NE(tax.find("stroke-width=\"1.5\""), std::string::npos);
  EXPECT_NE(tax.find("Δ accuracy (percentage points)"), std::string::npos);
  // Training curves of the preference runs include rewards.
  EXPECT_NE(html.find("dpo_b1_lr3e-6: rewards/margins"), std::string::npos);
  EXPECT_NE(html.find("apo_zero: rewards/accuracies"), std::string::npos);
  EXPECT_EQ(html.find("sft: rewards/margins"), std::string::npos);
  EXPECT_EQ(read_file(out + "/report.md").find("<svg"), std::string::npos);
}

TEST(ReportWrite, SingleRunDefaultsToItsDirectory) {
  QuietLogs quiet;
  auto dir = tt::testing::make_temp_dir("report-single");
  testing::write_results(dir + "/only", {0.1, 0.09, 0.2, 0.3, 0.25, 0.28});
  auto summary = write_report(options({dir + "/only"}));
  EXPECT_EQ(summary.title, "only");
  EXPECT_EQ(summary.runs_with_results, 1);
  EXPECT_EQ(summary.deltas, 0);
  EXPECT_EQ(summary.charts, 0);
  EXPECT_TRUE(file_exists(dir + "/only/report.md"));
  EXPECT_TRUE(file_exists(dir + "/only/report.html"));
  EXPECT_NE(read_file(dir + "/only/report.md").find("| only | 28.00 ± 1.31 | 20.00 ± 0.50 |"), std::string::npos);
}

TEST(ReportWrite, MetricOverrides) {
  QuietLogs quiet;
  auto dir = tt::testing::make_temp_dir("report-override");
  testing::make_study(dir);
  auto inputs = load_inputs({dir});
  auto table = benchmark_table(inputs.runs, {{"gsm8k_boxed", "exact_match,strict-match"}, {"ifeval", "prompt_level_loose_acc"}});
  EXPECT_EQ(table.benchmarks[2].metric, "exact_match,strict-match");
  EXPECT_EQ(table.benchmarks[3].metric, "prompt_level_loose_acc,none");
  EXPECT_EQ(table.cells[0][2].value, 0.0152);
  EXPECT_THROW(
      {
        try {
          benchmark_table(inputs.runs, {{"gsm8k_boxed", "pass@1,none"}});
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("exact_match,flexible-extract"), std::string::npos) << e.what();
          throw;
        }
      },
      Error);
  EXPECT_THROW(
      {
        try {
          benchmark_table(inputs.runs, {{"bbh_zeroshot_navigate", "exact_match,flexible-extract"}});
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("subtask"), std::string::npos) << e.what();
          throw;
        }
      },
      Error);
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ReportErrors, BadInputNamesTheFileAndLine) {
  QuietLogs quiet;
  auto dir = tt::testing::make_temp_dir("report-errors");
  EXPECT_EQ(error_of([&] { load_inputs({dir + "/nope"}); }), dir + "/nope: no such directory");
  EXPECT_NE(error_of([&] { load_inputs({dir}); }).find("neither a run directory"), std::string::npos);

  write_text(dir + "/bad_results/eval/results.json", "{\"results\": {\"gsm8k\": {\"acc,none\": 0.5,}}}");
  std::string e = error_of([&] { load_inputs({dir + "/bad_results"}); });
  EXPECT_EQ(e.rfind(dir + "/bad_results/eval/results.json: invalid JSON", 0), 0u) << e;
  EXPECT_NE(e.find("line 1"), std::string::npos) << e;

  write_text(dir + "/no_results_key/eval/results.json", "{\"groups\": {}}");
  e = error_of([&] { load_inputs({dir + "/no_results_key"}); });
  EXPECT_EQ(e, dir + "/no_results_key/eval/results.json: no \"results\" object (expected lm-eval's results.json shape)");

  write_text(dir + "/bad_metrics/metrics.jsonl", "{\"step\": 1, \"loss\": 2.0}\n{\"step\": 2, \"loss\": \n");
  e = error_of([&] { load_inputs({dir + "/bad_metrics"}); });
  EXPECT_EQ(e.rfind(dir + "/bad_metrics/metrics.jsonl:2:", 0), 0u) << e;

  write_text(dir + "/bad_loss/metrics.jsonl", "{\"step\": 1, \"loss\": 2.0}\n\n{\"step\": 3, \"loss\": \"high\"}\n");
  e = error_of([&] { load_inputs({dir + "/bad_loss"}); });
  EXPECT_EQ(e, dir + "/bad_loss/metrics.jsonl:3: 'loss' is not a number");

  write_text(dir + "/bad_run/run.json", "{\"name\": \"x\", \"parent\": 3}");
  e = error_of([&] { load_inputs({dir + "/bad_run"}); });
  EXPECT_EQ(e, dir + "/bad_run/run.json: 'parent' must be a string or null");

  write_text(dir + "/bad_study/study.json", "{\"name\": \"s\", \"runs\": \"a\"}");
  e = error_of([&] { load_inputs({dir + "/bad_study"}); });
  EXPECT_EQ(e.rfind(dir + "/bad_study/study.json: expected", 0), 0u) << e;

  // Several inputs need --out; duplicate names are refused.
  testing::write_results(dir + "/a/same", {0.1, 0.1, 0.1, 0.1, 0.1, 0.1});
  testing::write_results(dir + "/b/same", {0.1, 0.1, 0.1, 0.1, 0.1, 0.1});
  EXPECT_NE(error_of([&] { write_report(options({dir + "/a/same", dir + "/b/same"})); }).find("give --out"),
            std::string::npos);
  EXPECT_NE(error_of([&] { write_report(options({dir + "/a/same", dir + "/b/same"}, dir + "/o")); })
                .find("two runs are named 'same'"),
            std::string::npos);
}

TEST(ReportWrite, StudyRunNotStartedIsListed) {
  QuietLogs quiet;
  auto dir = tt::testing::make_temp_dir("report-pending");
  testing::write_results(dir + "/done", {0.1, 0.1, 0.1, 0.1, 0.1, 0.1});
  write_text(dir + "/study.json", R"({"name": "pending", "runs": ["done", "later"]})");
  auto summary = write_report(options({dir}));
  EXPECT_EQ(summary.runs, 2);
  EXPECT_EQ(summary.runs_with_results, 1);
  EXPECT_NE(read_file(summary.markdown_path).find("| later | — | — | — | — | not run yet | — |"), std::string::npos);
}

TEST(ReportWrite, EscapesNamesInHtmlSvgAndMarkdown) {
  QuietLogs quiet;
  auto dir = tt::testing::make_temp_dir("report-escape");
  const std::string evil = "x<b>&\"q\"|y";
  const std::string task = "t<&>\"k\"";
  ojson results = {{"results", {{task, {{"alias", task}, {"acc,none", 0.5}, {"acc_stderr,none", 0.05}}}}}};
  write_text(dir + "/p/eval/results.json", results.dump());
  write_text(dir + "/p/run.json", ojson({{"name", "parent<&>"}}).dump());
  results["results"][task]["acc,none"] = 0.25;
  write_text(dir + "/c/eval/results.json", results.dump());
  write_text(dir + "/c/run.json", ojson({{"name", evil}, {"parent", "parent<&>"}}).dump());
  testing::write_metrics(dir + "/c", 5, false);
  auto summary = write_report(options({dir + "/p", dir + "/c"}, dir + "/out"));
  EXPECT_EQ(summary.deltas, 1);
  EXPECT_EQ(summary.charts, 1 + 2);  // the tax bars, and loss + grad_norm of the child
  std::string html = read_file(summary.html_path);
  EXPECT_EQ(html.find(evil), std::string::npos);
  EXPECT_EQ(html.find(task), std::string::npos);
  EXPECT_EQ(html.find("parent<&>"), std::string::npos);
  EXPECT_NE(html.find("x&lt;b&gt;&amp;&quot;q&quot;|y"), std::string::npos);
  EXPECT_NE(html.find("t&lt;&amp;&gt;&quot;k&quot;"), std::string::npos);
  // Inside the SVG too (the axis label of the tax chart and the curve titles).
  size_t svg = html.find("<svg");
  ASSERT_NE(svg, std::string::npos);
  std::string svgs = html.substr(svg);
  EXPECT_NE(svgs.find(">t&lt;&amp;&gt;&quot;k&quot;</text>"), std::string::npos);
  EXPECT_NE(svgs.find("x&lt;b&gt;&amp;&quot;q&quot;|y: loss"), std::string::npos);
  // Markdown: the cell separator and angle brackets are backslash-escaped, and the row still parses.
  std::string md = read_file(summary.markdown_path);
  EXPECT_NE(md.find("x\\<b\\>&\"q\"\\|y"), std::string::npos) << md;
  auto rows = md_table(md, "Capability tax");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1][0], evil);
  EXPECT_EQ(rows[1][1], "parent<&>");
  EXPECT_EQ(rows[1][2], "-25.00 ± 7.07");
}

}  // namespace
}  // namespace tt::report

namespace tt::report {
namespace {

TEST(ReportWrite, SweepWithOneEvaluatedRunIsNotChartedAndLongLogsAreThinned) {
  QuietLogs quiet;
  auto dir = tt::testing::make_temp_dir("report-thin");
  testing::write_run(dir + "/a", {{"name", "a"}, {"sweep", "s"}, {"params", {{"beta", 0.5}}}});
  testing::write_results(dir + "/a", {0.1, 0.1, 0.1, 0.1, 0.1, 0.1});
  testing::write_run(dir + "/b", {{"name", "b"}, {"sweep", "s"}, {"params", {{"beta", 1.0}}}});
  testing::write_metrics(dir + "/b", 4000, false);  // b trained but is not evaluated yet
  auto summary = write_report(options({dir + "/a", dir + "/b"}, dir + "/out"));
  EXPECT_EQ(summary.charts, 2);  // b's loss and grad_norm; no sweep chart for one evaluated run
  std::string html = read_file(summary.html_path);
  EXPECT_EQ(html.find("Sweeps"), std::string::npos);
  size_t polyline = html.find("<polyline points=\"");
  ASSERT_NE(polyline, std::string::npos);
  std::string points = html.substr(polyline, html.find('"', polyline + 18) - polyline);
  size_t n = count_of(points, ",");
  EXPECT_GT(n, 1000u);
  EXPECT_LE(n, 1501u);
  EXPECT_EQ(count_of(html, "<circle"), 0u);  // no markers on long curves
}

}  // namespace
}  // namespace tt::report
