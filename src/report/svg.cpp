#include "report/svg.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace tt::svg {

namespace {

constexpr const char* kFont = "font-family=\"sans-serif\"";
constexpr const char* kPositive = "#2e7d32";
constexpr const char* kNegative = "#c62828";
constexpr double kCharWidth = 6.6;  // rough width of one 11-12px sans-serif character, for layout

std::string px(double v) { return fmt::format("{:.1f}", v); }

double text_width(const std::string& text, double char_width = kCharWidth) {
  return static_cast<double>(text.size()) * char_width;
}

std::string text(double x, double y, const std::string& content, const std::string& anchor = "middle",
                 const std::string& extra = "") {
  return fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"{}\"{}{}>{}</text>\n", px(x), px(y), anchor,
                     extra.empty() ? "" : " ", extra, escape(content));
}

std::string open_svg(double width, double height, const std::string& title) {
  return fmt::format(
      "<svg class=\"chart\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" role=\"img\" {} font-size=\"12\">\n"
      "<title>{}</title>\n<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n"
      "<text x=\"{}\" y=\"20\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">{}</text>\n",
      px(width), px(height), px(width), px(height), kFont, escape(title), px(width / 2), escape(title));
}

// The y axis: grid lines and tick labels at `ticks`, and the axis title rotated along the left edge.
std::string y_axis(const std::vector<double>& ticks, const std::function<double(double)>& y, double left,
                   double right_edge, const std::string& label) {
  std::string out;
  for (double t : ticks) {
    out += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#e3e3e3\"/>\n", px(left), px(y(t)),
                       px(right_edge), px(y(t)));
    out += text(left - 6, y(t) + 4, format_tick(t), "end");
  }
  double mid = (y(ticks.front()) + y(ticks.back())) / 2;
  out += fmt::format("<text x=\"14\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {})\">{}</text>\n",
                     px(mid), px(mid), escape(label));
  return out;
}

// A legend of colour swatches, wrapped into rows of at most `max_width`; returns its height via `height`.
std::string legend(const std::vector<std::pair<std::string, std::string>>& entries, double x0, double y0,
                   double max_width, double& height) {
  std::string out;
  double x = x0, y = y0;
  height = entries.empty() ? 0 : 18;
  for (const auto& [name, colour] : entries) {
    double w = 18 + text_width(name) + 16;
    if (x > x0 && x + w > x0 + max_width) {
      x = x0;
      y += 18;
      height += 18;
    }
    out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/>\n", px(x), px(y - 10), colour);
    out += text(x + 16, y, name, "start");
    x += w;
  }
  return out;
}

double legend_height(const std::vector<std::pair<std::string, std::string>>& entries, double max_width) {
  double height = 0;
  legend(entries, 0, 0, max_width, height);
  return height;
}

// Ticks covering [lo, hi] and the range widened to them.
std::vector<double> axis_range(double& lo, double& hi, int target) {
  if (!(hi > lo)) {
    double pad = lo == 0 ? 1 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  auto ticks = nice_ticks(lo, hi, target);
  lo = std::min(lo, ticks.front());
  hi = std::max(hi, ticks.back());
  return ticks;
}

struct Rgb {
  double r, g, b;
};

// A sequential light-to-dark scale (yellow - teal - navy), t in [0, 1].
std::string scale_colour(double t) {
  static const Rgb stops[] = {{255, 255, 217}, {65, 182, 196}, {8, 29, 88}};
  t = std::clamp(t, 0.0, 1.0);
  const Rgb& a = t < 0.5 ? stops[0] : stops[1];
  const Rgb& b = t < 0.5 ? stops[1] : stops[2];
  double u = t < 0.5 ? t * 2 : (t - 0.5) * 2;
  auto mix = [u](double p, double q) { return static_cast<int>(std::lround(p + (q - p) * u)); };
  return fmt::format("#{:02x}{:02x}{:02x}", mix(a.r, b.r), mix(a.g, b.g), mix(a.b, b.b));
}

}  // namespace

std::string escape(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (char c : in) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string palette_colour(size_t index) {
  // Tableau 10: distinct, and readable on white.
  static const char* colours[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                  "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
  return colours[index % 10];
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {0, 1};
  if (!(hi > lo)) hi = lo + 1;
  double raw = (hi - lo) / std::max(1, target);
  double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double norm = raw / magnitude;
  double step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * magnitude;
  double first = std::floor(lo / step + 1e-9), last = std::ceil(hi / step - 1e-9);
  std::vector<double> ticks;
  for (double k = first; k <= last + 1e-9; k += 1) {
    double t = k * step;
    if (std::abs(t) < step * 1e-9) t = 0;  // no "-0"
    ticks.push_back(t);
  }
  return ticks;
}

std::string format_tick(double value) {
  if (value == 0) return "0";
  std::string s = fmt::format("{:.6g}", value);
  // 5e-07 -> 5e-7, 1e+06 -> 1e6
  size_t e = s.find('e');
  if (e != std::string::npos) {
    std::string mantissa = s.substr(0, e), exponent = s.substr(e + 1);
    char sign = exponent[0];
    exponent = exponent.substr(1);
    while (exponent.size() > 1 && exponent[0] == '0') exponent.erase(0, 1);
    s = mantissa + "e" + (sign == '-' ? "-" : "") + exponent;
  }
  return s;
}

std::string bar_chart(const BarChart& chart) {
  Formatter label_format = chart.label_format ? chart.label_format : [](double v) { return fmt::format("{:+.1f}", v); };
  size_t n_categories = chart.categories.size(), n_series = chart.series.size();
  auto error_of = [](const BarSeries& s, size_t i) {
    return i < s.errors.size() && std::isfinite(s.errors[i]) ? s.errors[i] : 0.0;
  };
  auto colour_of = [&](size_t s) {
    return chart.series[s].colour.empty() ? palette_colour(s) : chart.series[s].colour;
  };

  double lo = 0, hi = 0;
  for (const auto& s : chart.series)
    for (size_t i = 0; i < std::min(s.values.size(), n_categories); ++i) {
      if (!std::isfinite(s.values[i])) continue;
      lo = std::min(lo, s.values[i] - error_of(s, i));
      hi = std::max(hi, s.values[i] + error_of(s, i));
    }
  // Room for the value labels beyond the bars.
  double span = hi - lo;
  if (span > 0) {
    if (hi > 0) hi += span * 0.08;
    if (lo < 0) lo -= span * 0.08;
  }
  auto ticks = axis_range(lo, hi, 6);

  // Groups fill at least ~480px, so a chart of a few benchmarks is not a sliver.
  double group_width = std::max({64.0, static_cast<double>(n_series) * 18 + 24,
                                 480.0 / static_cast<double>(std::max<size_t>(1, n_categories))});
  group_width = std::min(group_width, std::max(160.0, static_cast<double>(n_series) * 18 + 24));
  double longest_label = 0;
  for (const auto& c : chart.categories) longest_label = std::max(longest_label, text_width(c));
  bool rotate = longest_label > group_width - 4;
  double left = 70, right = 20, top = 36, plot_height = 260;
  double plot_width = std::max(1.0, static_cast<double>(n_categories)) * group_width;
  double label_band = rotate ? std::min(160.0, longest_label * 0.82 + 12) : 22;
  std::vector<std::pair<std::string, std::string>> legend_entries;
  if (n_series > 1 || !chart.colour_by_sign)
    for (size_t s = 0; s < n_series; ++s) legend_entries.emplace_back(chart.series[s].name, colour_of(s));
  double width = left + std::max(plot_width, 260.0) + right;
  double legend_h = legend_height(legend_entries, width - left - right);
  double height = top + plot_height + label_band + 26 + legend_h + 8;

  auto y = [&](double v) { return top + (hi - v) / (hi - lo) * plot_height; };
  std::string out = open_svg(width, height, chart.title);
  out += y_axis(ticks, y, left, left + plot_width, chart.y_label);

  double bar_width = std::min(30.0, (group_width * 0.8) / std::max<size_t>(1, n_series));
  for (size_t i = 0; i < n_categories; ++i) {
    double group_x = left + static_cast<double>(i) * group_width;
    double first_x = group_x + (group_width - bar_width * static_cast<double>(n_series)) / 2;
    for (size_t s = 0; s < n_series; ++s) {
      const auto& series = chart.series[s];
      if (i >= series.values.size() || !std::isfinite(series.values[i])) continue;
      double v = series.values[i], e = error_of(series, i);
      double x = first_x + static_cast<double>(s) * bar_width;
      std::string colour = chart.colour_by_sign ? (v >= 0 ? kPositive : kNegative) : colour_of(s);
      double y0 = y(0), y1 = y(v);
      out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{}</title></rect>\n",
                         px(x + 1), px(std::min(y0, y1)), px(bar_width - 2), px(std::abs(y1 - y0)), colour,
                         escape(series.name + " / " + chart.categories[i] + ": " + label_format(v) +
                                (e > 0 ? fmt::format(" ± {:.2f}", e) : "")));
      double cx = x + bar_width / 2;
      if (e > 0) {
        out += fmt::format("<path d=\"M{} {}V{}M{} {}h6M{} {}h6\" stroke=\"#333\" fill=\"none\"/>\n", px(cx),
                           px(y(v - e)), px(y(v + e)), px(cx - 3), px(y(v - e)), px(cx - 3), px(y(v + e)));
      }
      if (chart.value_labels) {
        double ly = v >= 0 ? y(v + e) - 4 : y(v - e) + 12;
        out += text(cx, ly, label_format(v), "middle", "font-size=\"10\"");
      }
    }
    double label_y = top + plot_height + 16;
    if (rotate) {
      double cx = group_x + group_width / 2;
      out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\" transform=\"rotate(-35 {} {})\">{}</text>\n",
                         px(cx), px(label_y), px(cx), px(label_y), escape(chart.categories[i]));
    } else {
      out += text(group_x + group_width / 2, label_y, chart.categories[i]);
    }
  }
  // The zero line, over the bars' bases.
  out += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#222\" stroke-width=\"1.5\"/>\n", px(left),
                     px(y(0)), px(left + plot_width), px(y(0)));
  double x_title_y = top + plot_height + label_band + 20;
  out += text(left + plot_width / 2, x_title_y, chart.x_label);
  double unused = 0;
  out += legend(legend_entries, left, x_title_y + 22, width - left - right, unused);
  out += "</svg>\n";
  return out;
}

std::string line_chart(const LineChart& chart) {
  bool categorical = !chart.x_tick_labels.empty();
  double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  for (const auto& s : chart.series)
    for (size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      x_lo = std::min(x_lo, s.x[i]);
      x_hi = std::max(x_hi, s.x[i]);
      y_lo = std::min(y_lo, s.y[i]);
      y_hi = std::max(y_hi, s.y[i]);
    }
  if (!std::isfinite(x_lo)) x_lo = 0, x_hi = 1, y_lo = 0, y_hi = 1;
  if (categorical) {
    x_lo = -0.5;
    x_hi = static_cast<double>(chart.x_tick_labels.size()) - 0.5;
  } else if (!(x_hi > x_lo)) {
    x_lo -= 1;
    x_hi += 1;
  }
  auto y_ticks = axis_range(y_lo, y_hi, 5);

  double left = 70, right = 20, top = 36;
  double width = chart.width, plot_width = width - left - right;
  std::vector<std::pair<std::string, std::string>> legend_entries;
  auto colour_of = [&](size_t s) { return chart.series[s].colour.empty() ? palette_colour(s) : chart.series[s].colour; };
  if (chart.series.size() > 1)
    for (size_t s = 0; s < chart.series.size(); ++s) legend_entries.emplace_back(chart.series[s].name, colour_of(s));
  double legend_h = legend_height(legend_entries, plot_width);
  double plot_height = chart.height - top - 50;
  double height = chart.height + legend_h;

  auto x = [&](double v) { return left + (v - x_lo) / (x_hi - x_lo) * plot_width; };
  auto y = [&](double v) { return top + (y_hi - v) / (y_hi - y_lo) * plot_height; };
  std::string out = open_svg(width, height, chart.title);
  out += y_axis(y_ticks, y, left, left + plot_width, chart.y_label);
  double tick_y = top + plot_height + 16;
  if (categorical) {
    for (size_t i = 0; i < chart.x_tick_labels.size(); ++i) out += text(x(static_cast<double>(i)), tick_y, chart.x_tick_labels[i]);
  } else {
    for (double t : nice_ticks(x_lo, x_hi, 6))
      if (t >= x_lo - 1e-9 * (x_hi - x_lo) && t <= x_hi + 1e-9 * (x_hi - x_lo)) out += text(x(t), tick_y, format_tick(t));
  }
  out += fmt::format("<path d=\"M{} {}V{}H{}\" stroke=\"#444\" fill=\"none\"/>\n", px(left), px(top), px(top + plot_height),
                     px(left + plot_width));

  for (size_t s = 0; s < chart.series.size(); ++s) {
    const auto& series = chart.series[s];
    std::string colour = colour_of(s);
    size_t n = std::min(series.x.size(), series.y.size());
    // A NaN breaks the line; each finite run of points is one polyline.
    std::string points;
    size_t finite = 0;
    auto flush = [&] {
      if (!points.empty())
        out += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.8\"/>\n", points, colour);
      points.clear();
    };
    for (size_t i = 0; i < n; ++i) {
      if (!std::isfinite(series.x[i]) || !std::isfinite(series.y[i])) {
        flush();
        continue;
      }
      ++finite;
      if (!points.empty()) points += ' ';
      points += px(x(series.x[i])) + "," + px(y(series.y[i]));
    }
    flush();
    if (chart.markers && finite <= 60)
      for (size_t i = 0; i < n; ++i)
        if (std::isfinite(series.x[i]) && std::isfinite(series.y[i]))
          out += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"{}\"><title>{}</title></circle>\n",
                             px(x(series.x[i])), px(y(series.y[i])), colour,
                             escape(series.name + ": " + format_tick(series.y[i])));
  }
  double x_title_y = top + plot_height + 36;
  out += text(left + plot_width / 2, x_title_y, chart.x_label);
  double unused = 0;
  out += legend(legend_entries, left, x_title_y + 20, plot_width, unused);
  out += "</svg>\n";
  return out;
}

std::string heat_map(const HeatMap& map) {
  Formatter cell_format = map.cell_format ? map.cell_format : [](double v) { return fmt::format("{:.2f}", v); };
  double v_lo = INFINITY, v_hi = -INFINITY;
  for (const auto& row : map.values)
    for (double v : row)
      if (std::isfinite(v)) v_lo = std::min(v_lo, v), v_hi = std::max(v_hi, v);

  double cell_width = 70, cell_height = 34;
  for (const auto& c : map.columns) cell_width = std::max(cell_width, text_width(c) + 12);
  double row_label_width = 0;
  for (const auto& r : map.rows) row_label_width = std::max(row_label_width, text_width(r));
  double left = 34 + row_label_width + 8, top = 36;
  double grid_width = cell_width * static_cast<double>(map.columns.size());
  double grid_height = cell_height * static_cast<double>(map.rows.size());
  double width = std::max(left + grid_width + 20, 260.0);
  double height = top + grid_height + 64;

  std::string out = open_svg(width, height, map.title);
  for (size_t r = 0; r < map.rows.size(); ++r) {
    double cy = top + static_cast<double>(r) * cell_height;
    out += text(left - 8, cy + cell_height / 2 + 4, map.rows[r], "end");
    for (size_t c = 0; c < map.columns.size(); ++c) {
      double cx = left + static_cast<double>(c) * cell_width;
      double v = r < map.values.size() && c < map.values[r].size() ? map.values[r][c] : kMissing;
      bool present = std::isfinite(v);
      double t = present ? (v_hi > v_lo ? (v - v_lo) / (v_hi - v_lo) : 0.5) : 0;
      std::string fill = present ? scale_colour(t) : "#e0e0e0";
      std::string label = present ? cell_format(v) : "—";
      out += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" stroke=\"#ffffff\"><title>{}</title></rect>\n",
          px(cx), px(cy), px(cell_width), px(cell_height), fill,
          escape(map.y_label + " " + map.rows[r] + ", " + map.x_label + " " + map.columns[c] + ": " + label));
      out += text(cx + cell_width / 2, cy + cell_height / 2 + 4, label, "middle",
                  t > 0.55 ? "fill=\"#ffffff\"" : "fill=\"#111111\"");
    }
  }
  for (size_t c = 0; c < map.columns.size(); ++c)
    out += text(left + (static_cast<double>(c) + 0.5) * cell_width, top + grid_height + 16, map.columns[c]);
  out += text(left + grid_width / 2, top + grid_height + 36, map.x_label);
  double mid = top + grid_height / 2;
  out += fmt::format("<text x=\"14\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {})\">{}</text>\n",
                     px(mid), px(mid), escape(map.y_label));
  if (std::isfinite(v_lo))
    out += text(left, top + grid_height + 56,
                 fmt::format("light = {} … dark = {}", cell_format(v_lo), cell_format(v_hi)), "start",
                 "font-size=\"10\" fill=\"#555555\"");
  out += "</svg>\n";
  return out;
}

}  // namespace tt::svg
