// tinythink report: the capability-tax report (tables + inline SVG charts) across run and study
// directories; see report/report.h.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "report/report.h"

namespace tt::cli {

void register_report(CLI::App& app) {
  struct Args {
    std::vector<std::string> dirs, metrics;
    std::string out;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("report", "capability-tax tables and charts across checkpoints (report.md + report.html)");
  cmd->add_option("dirs", args->dirs, "run directories (run.json, metrics.jsonl, eval/results.json) or study directories (study.json)")
      ->required();
  cmd->add_option("--out", args->out, "output directory (default: the single input directory)");
  cmd->add_option("--metric", args->metrics,
                  "TASK=METRIC,FILTER: the metric shown for a task or group (e.g. gsm8k=exact_match,strict-match); repeatable")
      ->allow_extra_args(false);
  cmd->callback([args] {
    report::ReportOptions options;
    options.dirs = args->dirs;
    options.out_dir = args->out;
    for (const auto& spec : args->metrics) {
      size_t eq = spec.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
        fail("--metric {}: expected TASK=METRIC,FILTER (e.g. gsm8k=exact_match,strict-match)", spec);
      std::string task = spec.substr(0, eq);
      if (options.metric_overrides.count(task)) fail("--metric {}: {} is given twice", spec, task);
      options.metric_overrides[task] = spec.substr(eq + 1);
    }
    auto summary = report::write_report(options);
    std::printf("%s\n%s\n", summary.markdown_path.c_str(), summary.html_path.c_str());
  });
}

}  // namespace tt::cli
