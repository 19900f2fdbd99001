// Rendering the report: report.md (tables) and report.html (the same tables and inline SVG charts).
#include <algorithm>
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "core/log.h"
#include "io/file.h"
#include "report/report.h"
#include "report/svg.h"

namespace tt::report {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

namespace {

constexpr size_t kMaxCurvePoints = 1500;  // longer training logs are thinned for the curves

struct Document {
  std::string md, html;
  int64_t charts = 0;
  void chart(const std::string& svg_text) {
    html += svg_text;
    ++charts;
  }
};

// Markdown text in a table cell: backslash-escape what would end the cell or turn into markup.
std::string md(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\' || c == '|' || c == '<' || c == '>' || c == '*' || c == '`' || c == '[' || c == ']') out += '\\';
    if (c == '\n') {
      out += ' ';
      continue;
    }
    out += c;
  }
  return out;
}

std::string h(std::string_view text) { return svg::escape(text); }

std::string md_row(const std::vector<std::string>& cells) { return "| " + fmt::format("{}", fmt::join(cells, " | ")) + " |\n"; }

std::string md_rule(size_t columns) {
  std::string out = "|";
  for (size_t i = 0; i < columns; ++i) out += i == 0 ? "---|" : "---:|";
  return out + "\n";
}

std::string params_text(const ojson& params) {
  std::vector<std::string> parts;
  for (const auto& [key, value] : params.items()) parts.push_back(key + "=" + format_param(value));
  return fmt::format("{}", fmt::join(parts, ", "));
}

std::string unit(const Benchmark& b) { return b.percent ? "%" : "raw"; }

void runs_section(const Inputs& inputs, Document& doc) {
  doc.md += "## Runs\n\n";
  doc.html += "<h2>Runs</h2>\n<table>\n<tr><th>run</th><th>kind</th><th>parent</th><th>sweep</th><th>params</th>"
              "<th>eval results</th><th>training log</th></tr>\n";
  doc.md += md_row({"run", "kind", "parent", "sweep", "params", "eval results", "training log"});
  doc.md += "|---|---|---|---|---|---|---|\n";
  for (const auto& run : inputs.runs) {
    std::string eval = !run.exists ? "not run yet" : run.has_results ? "yes" : "none";
    std::string log = run.metrics.empty() ? "—" : fmt::format("{} rows", run.metrics.size());
    std::string params = params_text(run.params);
    auto or_dash = [](const std::string& s) { return s.empty() ? std::string("—") : s; };
    doc.md += md_row({md(run.name), md(or_dash(run.kind)), md(or_dash(run.parent)), md(or_dash(run.sweep)),
                      md(or_dash(params)), eval, log});
    doc.html += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                            h(run.name), h(or_dash(run.kind)), h(or_dash(run.parent)), h(or_dash(run.sweep)),
                            h(or_dash(params)), eval, log);
  }
  doc.md += "\n";
  doc.html += "</table>\n";
}

void benchmarks_section(const std::vector<Run>& runs, const Table& table, Document& doc) {
  doc.md += "## Benchmarks\n\n";
  doc.html += "<h2>Benchmarks</h2>\n";
  if (table.rows.empty() || table.benchmarks.empty()) {
    doc.md += "No run has evaluation results yet.\n\n";
    doc.html += "<p>No run has evaluation results yet.</p>\n";
    return;
  }
  const char* intro = "Headline metric of each benchmark, value ± standard error (percent where the metric is a "
                      "fraction).";
  doc.md += fmt::format("{}\n\n", intro);
  doc.html += fmt::format("<p>{}</p>\n<table>\n<tr><th>run</th>", intro);
  std::vector<std::string> header = {"run"};
  for (const auto& b : table.benchmarks) {
    header.push_back(md(b.name));
    doc.html += fmt::format("<th>{}<br><span class=\"metric\">{} ({})</span></th>", h(b.name), h(b.metric), unit(b));
  }
  doc.html += "</tr>\n";
  doc.md += md_row(header) + md_rule(header.size());
  for (size_t r = 0; r < table.rows.size(); ++r) {
    std::vector<std::string> cells = {md(runs[table.rows[r]].name)};
    doc.html += fmt::format("<tr><td>{}</td>", h(runs[table.rows[r]].name));
    for (size_t b = 0; b < table.benchmarks.size(); ++b) {
      std::string text = format_score(table.cells[r][b], table.benchmarks[b].percent);
      cells.push_back(text);
      doc.html += fmt::format("<td class=\"num\">{}</td>", h(text));
    }
    doc.md += md_row(cells);
    doc.html += "</tr>\n";
  }
  doc.html += "</table>\n";
  doc.md += "\nMetrics: ";
  for (size_t b = 0; b < table.benchmarks.size(); ++b) {
    const auto& bench = table.benchmarks[b];
    doc.md += fmt::format("{}{} `{}` ({}{})", b ? "; " : "", md(bench.name), bench.metric, unit(bench),
                          bench.group ? ", group" : "");
  }
  doc.md += ".\n\n";
}

void tax_section(const std::vector<Run>& runs, const Table& table, const std::vector<Delta>& deltas, Document& doc) {
  doc.md += "## Capability tax\n\n";
  doc.html += "<h2>Capability tax</h2>\n";
  if (deltas.empty()) {
    const char* none = "No run has a parent with evaluation results, so there is nothing to compare.";
    doc.md += fmt::format("{}\n\n", none);
    doc.html += fmt::format("<p>{}</p>\n", none);
    return;
  }
  const char* intro = "Each run minus the run it started from, per benchmark: percentage points for percent "
                      "metrics, ± the combined standard error sqrt(a² + b²).";
  doc.md += fmt::format("{}\n\n", intro);
  doc.html += fmt::format("<p>{}</p>\n<table>\n<tr><th>run</th><th>parent</th>", intro);
  std::vector<std::string> header = {"run", "parent"};
  for (const auto& b : table.benchmarks) {
    header.push_back(md(b.name));
    doc.html += fmt::format("<th>{}<br><span class=\"metric\">{}</span></th>", h(b.name), b.percent ? "pp" : "raw");
  }
  doc.html += "</tr>\n";
  doc.md += md_row(header) + md_rule(header.size());
  for (const auto& delta : deltas) {
    std::vector<std::string> cells = {md(runs[delta.run].name), md(runs[delta.parent].name)};
    doc.html += fmt::format("<tr><td>{}</td><td>{}</td>", h(runs[delta.run].name), h(runs[delta.parent].name));
    for (size_t b = 0; b < table.benchmarks.size(); ++b) {
      const Score& d = delta.values[b];
      std::string text = format_delta(d, table.benchmarks[b].percent);
      cells.push_back(text);
      const char* cls = !d.present() ? "num" : d.value > 0 ? "num pos" : d.value < 0 ? "num neg" : "num";
      doc.html += fmt::format("<td class=\"{}\">{}</td>", cls, h(text));
    }
    doc.md += md_row(cells);
    doc.html += "</tr>\n";
  }
  doc.html += "</table>\n";
  doc.md += "\nThe chart of these deltas is in report.html.\n\n";

  // The chart: percent benchmarks only (points on one axis), like the paper's Fig. 3.
  svg::BarChart chart;
  chart.title = deltas.size() == 1 ? fmt::format("Capability tax: {} − {}", runs[deltas[0].run].name,
                                                 runs[deltas[0].parent].name)
                                   : "Capability tax: each run − its parent";
  chart.x_label = "benchmark";
  chart.y_label = "Δ accuracy (percentage points)";
  chart.colour_by_sign = deltas.size() == 1;
  chart.value_labels = deltas.size() <= 3;
  std::vector<size_t> columns;
  for (size_t b = 0; b < table.benchmarks.size(); ++b) {
    if (!table.benchmarks[b].percent) continue;
    bool any = std::any_of(deltas.begin(), deltas.end(), [&](const Delta& d) { return d.values[b].present(); });
    if (any) columns.push_back(b);
  }
  if (columns.empty()) return;
  for (size_t b : columns) chart.categories.push_back(table.benchmarks[b].name);
  for (const auto& delta : deltas) {
    svg::BarSeries series;
    series.name = runs[delta.run].name + " − " + runs[delta.parent].name;
    for (size_t b : columns) {
      series.values.push_back(delta.values[b].value * 100);
      series.errors.push_back(delta.values[b].error * 100);
    }
    chart.series.push_back(std::move(series));
  }
  doc.html += "<div class=\"charts\">\n";
  doc.chart(svg::bar_chart(chart));
  doc.html += "</div>\n";
}

// The distinct values of one param across the sweep's runs, sorted (numerically when all are numbers).
std::vector<ojson> distinct_values(const std::vector<Run>& runs, const Sweep& sweep, const std::string& param) {
  std::vector<ojson> values;
  for (size_t i : sweep.runs) {
    ojson v = runs[i].params.contains(param) ? runs[i].params[param] : ojson();
    if (std::none_of(values.begin(), values.end(), [&](const ojson& u) { return u == v; })) values.push_back(v);
  }
  bool numeric = std::all_of(values.begin(), values.end(), [](const ojson& v) { return v.is_number(); });
  std::stable_sort(values.begin(), values.end(), [&](const ojson& a, const ojson& b) {
    return numeric ? a.get<double>() < b.get<double>() : format_param(a) < format_param(b);
  });
  return values;
}

size_t index_of(const std::vector<ojson>& values, const ojson& value) {
  return static_cast<size_t>(std::find(values.begin(), values.end(), value) - values.begin());
}

ojson param_of(const Run& run, const std::string& param) {
  return run.params.contains(param) ? run.params[param] : ojson();
}

void sweeps_section(const std::vector<Run>& runs, const Table& table, const std::vector<Sweep>& sweeps, Document& doc) {
  if (std::none_of(sweeps.begin(), sweeps.end(), [](const Sweep& s) { return s.runs.size() >= 2; })) return;
  doc.md += "## Sweeps\n\n";
  doc.html += "<h2>Sweeps</h2>\n";
  std::map<size_t, size_t> row_of;  // run index -> table row
  for (size_t r = 0; r < table.rows.size(); ++r) row_of[table.rows[r]] = r;
  auto scaled = [&](size_t run, size_t b) {
    const Score& s = table.cells[row_of.at(run)][b];
    return s.present() ? s.value * (table.benchmarks[b].percent ? 100 : 1) : svg::kMissing;
  };
  auto cell_text = [](bool percent) {
    return [percent](double v) { return percent ? fmt::format("{:.2f}", v) : fmt::format("{:.4f}", v); };
  };

  for (const auto& sweep : sweeps) {
    if (sweep.runs.size() < 2) continue;  // one evaluated run: nothing to compare yet
    std::string heading = fmt::format("Sweep {} ({} runs", sweep.name, sweep.runs.size());
    heading += sweep.varying.empty() ? ")" : fmt::format("; varying {})", fmt::join(sweep.varying, " × "));
    doc.md += fmt::format("### {}\n\n", md(heading));
    doc.html += fmt::format("<h3>{}</h3>\n", h(heading));
    if (sweep.varying.empty() || sweep.varying.size() > 2) {
      std::string note = sweep.varying.empty() ? "No parameter differs between its runs; see the benchmark table."
                                               : "More than two parameters vary; see the benchmark table.";
      doc.md += note + "\n\n";
      doc.html += fmt::format("<p>{}</p>\n", note);
      continue;
    }

    if (sweep.varying.size() == 1) {
      const std::string& param = sweep.varying[0];
      auto values = distinct_values(runs, sweep, param);
      // Markdown: one row per param value, one column per benchmark.
      std::vector<std::string> header = {md(param)};
      for (const auto& b : table.benchmarks) header.push_back(md(b.name));
      doc.md += md_row(header) + md_rule(header.size());
      for (const auto& value : values)
        for (size_t i : sweep.runs) {
          if (param_of(runs[i], param) != value) continue;
          std::vector<std::string> cells = {md(format_param(value))};
          for (size_t b = 0; b < table.benchmarks.size(); ++b)
            cells.push_back(format_score(table.cells[row_of.at(i)][b], table.benchmarks[b].percent));
          doc.md += md_row(cells);
        }
      doc.md += "\n";
      svg::LineChart chart;
      chart.title = fmt::format("Sweep {}: benchmarks vs {}", sweep.name, param);
      chart.x_label = param;
      chart.y_label = "accuracy (%)";
      for (const auto& v : values) chart.x_tick_labels.push_back(format_param(v));
      for (size_t b = 0; b < table.benchmarks.size(); ++b) {
        if (!table.benchmarks[b].percent) continue;
        svg::LineSeries series;
        series.name = table.benchmarks[b].name;
        std::vector<double> ys(values.size(), svg::kMissing);
        for (size_t i : sweep.runs) {
          size_t x = index_of(values, param_of(runs[i], param));
          if (!std::isfinite(ys[x])) ys[x] = scaled(i, b);
        }
        for (size_t x = 0; x < values.size(); ++x) {
          series.x.push_back(static_cast<double>(x));
          series.y.push_back(ys[x]);
        }
        chart.series.push_back(std::move(series));
      }
      if (!chart.series.empty()) {
        doc.html += "<div class=\"charts\">\n";
        doc.chart(svg::line_chart(chart));
        doc.html += "</div>\n";
      }
      continue;
    }

    // Two params: a heat-map per benchmark (rows: the first param, columns: the second).
    const std::string &row_param = sweep.varying[0], &column_param = sweep.varying[1];
    auto row_values = distinct_values(runs, sweep, row_param);
    auto column_values = distinct_values(runs, sweep, column_param);
    doc.html += "<div class=\"charts\">\n";
    for (size_t b = 0; b < table.benchmarks.size(); ++b) {
      const Benchmark& bench = table.benchmarks[b];
      svg::HeatMap map;
      map.title = fmt::format("{}: {} ({})", sweep.name, bench.name, unit(bench));
      map.x_label = column_param;
      map.y_label = row_param;
      for (const auto& v : column_values) map.columns.push_back(format_param(v));
      for (const auto& v : row_values) map.rows.push_back(format_param(v));
      map.values.assign(row_values.size(), std::vector<double>(column_values.size(), svg::kMissing));
      std::vector<std::vector<std::string>> texts(row_values.size(), std::vector<std::string>(column_values.size(), "—"));
      std::vector<std::vector<bool>> filled(row_values.size(), std::vector<bool>(column_values.size(), false));
      for (size_t i : sweep.runs) {
        size_t r = index_of(row_values, param_of(runs[i], row_param));
        size_t c = index_of(column_values, param_of(runs[i], column_param));
        if (filled[r][c]) {
          if (b == 0) log_warn("report: sweep {}: runs share {}={}, {}={}; the heat-map shows the first", sweep.name,
                               row_param, map.rows[r], column_param, map.columns[c]);
          continue;
        }
        filled[r][c] = true;
        map.values[r][c] = scaled(i, b);
        texts[r][c] = format_score(table.cells[row_of.at(i)][b], bench.percent);
      }
      map.cell_format = cell_text(bench.percent);
      doc.chart(svg::heat_map(map));

      doc.md += fmt::format("{} `{}` ({}), rows {}, columns {}:\n\n", md(bench.name), bench.metric, unit(bench),
                            md(row_param), md(column_param));
      std::vector<std::string> header = {md(row_param + " \\ " + column_param)};
      for (const auto& c : map.columns) header.push_back(md(c));
      doc.md += md_row(header) + md_rule(header.size());
      for (size_t r = 0; r < row_values.size(); ++r) {
        std::vector<std::string> cells = {md(map.rows[r])};
        for (const auto& text : texts[r]) cells.push_back(text);
        doc.md += md_row(cells);
      }
      doc.md += "\n";
    }
    doc.html += "</div>\n";
  }
}

// One training log column against step; rows without it are skipped, long logs thinned.
svg::LineSeries curve(const Run& run, const std::string& key) {
  svg::LineSeries series;
  series.name = key;
  for (size_t i = 0; i < run.metrics.size(); ++i) {
    const auto& row = run.metrics[i];
    if (!row.contains(key) || !row[key].is_number()) continue;
    double step = row.contains("step") && row["step"].is_number() ? row["step"].get<double>() : static_cast<double>(i + 1);
    series.x.push_back(step);
    series.y.push_back(row[key].get<double>());
  }
  if (series.x.size() > kMaxCurvePoints) {
    size_t stride = (series.x.size() + kMaxCurvePoints - 1) / kMaxCurvePoints;
    svg::LineSeries thin{series.name, {}, {}, {}};
    for (size_t i = 0; i < series.x.size(); i += stride) {
      thin.x.push_back(series.x[i]);
      thin.y.push_back(series.y[i]);
    }
    if (thin.x.back() != series.x.back()) {
      thin.x.push_back(series.x.back());
      thin.y.push_back(series.y.back());
    }
    return thin;
  }
  return series;
}

void curves_section(const std::vector<Run>& runs, Document& doc) {
  static const char* keys[] = {"loss", "grad_norm", "rewards/margins", "rewards/accuracies"};
  bool any_run = false;
  for (const auto& run : runs) {
    std::vector<svg::LineSeries> curves;
    for (size_t k = 0; k < std::size(keys); ++k) {
      auto series = curve(run, keys[k]);
      if (series.x.empty()) continue;
      series.colour = svg::palette_colour(k);
      curves.push_back(std::move(series));
    }
    if (curves.empty()) continue;
    if (!any_run) {
      doc.html += "<h2>Training curves</h2>\n";
      doc.md += "## Training curves\n\nPlotted in report.html: ";
      any_run = true;
    } else {
      doc.md += "; ";
    }
    doc.html += fmt::format("<h3>{}</h3>\n<div class=\"charts\">\n", h(run.name));
    std::vector<std::string> names;
    for (auto& series : curves) {
      names.push_back(series.name);
      svg::LineChart chart;
      chart.title = fmt::format("{}: {}", run.name, series.name);
      chart.x_label = "step";
      chart.y_label = series.name;
      chart.width = 300;  // four side by side: one row per run
      chart.height = 240;
      chart.series.push_back(std::move(series));
      doc.chart(svg::line_chart(chart));
    }
    doc.html += "</div>\n";
    doc.md += fmt::format("{} ({})", md(run.name), fmt::join(names, ", "));
  }
  if (any_run) doc.md += ".\n";
}

constexpr const char* kStyle = R"(
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1a1a1a;
       background: #ffffff; margin: 24px auto; max-width: 1280px; padding: 0 16px; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 4px; }
h2 { font-size: 1.3em; margin-top: 32px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 1.05em; margin-top: 20px; }
p.meta { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 0.9em; }
th, td { border: 1px solid #d0d0d0; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f5f7; }
td:first-child { white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.pos { color: #1b5e20; background: #eef7ee; }
td.neg { color: #b71c1c; background: #fcefef; }
span.metric { font-weight: normal; color: #666; font-size: 0.85em; }
div.charts { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
svg.chart { max-width: 100%; height: auto; border: 1px solid #e6e6e6; }
)";

}  // namespace

ReportSummary write_report(const ReportOptions& options) {
  std::string out_dir = options.out_dir;
  if (out_dir.empty()) {
    if (options.dirs.size() > 1) fail("report: {} input directories; give --out for the report", options.dirs.size());
    if (options.dirs.size() == 1) out_dir = options.dirs[0];
  }
  Inputs inputs = load_inputs(options.dirs);
  Table table = benchmark_table(inputs.runs, options.metric_overrides);
  auto deltas = capability_tax(inputs.runs, table);
  auto sweeps = find_sweeps(inputs.runs, table);

  Document doc;
  std::string title = "tinythink report: " + inputs.title;
  std::string meta = fmt::format("{} runs, {} with evaluation results; {} benchmarks.", inputs.runs.size(),
                                 table.rows.size(), table.benchmarks.size());
  doc.md = fmt::format("# {}\n\n{} Charts (capability tax, sweeps, training curves): see report.html.\n\n", md(title), meta);
  doc.html = fmt::format("<h1>{}</h1>\n<p class=\"meta\">{}</p>\n", h(title), h(meta));
  runs_section(inputs, doc);
  benchmarks_section(inputs.runs, table, doc);
  tax_section(inputs.runs, table, deltas, doc);
  sweeps_section(inputs.runs, table, sweeps, doc);
  curves_section(inputs.runs, doc);

  std::string html = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{}</style>\n"
      "</head>\n<body>\n{}</body>\n</html>\n",
      h(title), kStyle, doc.html);

  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) fail("{}: cannot create the report directory ({})", out_dir, ec.message());
  ReportSummary summary;
  summary.title = inputs.title;
  summary.markdown_path = (fs::path(out_dir) / "report.md").string();
  summary.html_path = (fs::path(out_dir) / "report.html").string();
  write_file_atomic(summary.markdown_path, doc.md);
  write_file_atomic(summary.html_path, html);
  summary.runs = static_cast<int64_t>(inputs.runs.size());
  summary.runs_with_results = static_cast<int64_t>(table.rows.size());
  summary.benchmarks = static_cast<int64_t>(table.benchmarks.size());
  summary.deltas = static_cast<int64_t>(deltas.size());
  summary.charts = doc.charts;
  log_info("report: {} runs ({} with results), {} benchmarks, {} deltas, {} charts -> {}, {}", summary.runs,
           summary.runs_with_results, summary.benchmarks, summary.deltas, summary.charts, summary.markdown_path,
           summary.html_path);
  return summary;
}

}  // namespace tt::report
