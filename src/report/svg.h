// Small SVG charts for the report (report.h): grouped bars, lines and heat-maps, written as inline
// <svg> elements for a self-contained HTML page (no scripts, no external fonts, no links).
// Values are plain doubles; NaN marks a missing value (no bar, no point, a grey cell).
#pragma once
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace tt::svg {

inline constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();

// Escapes &, <, >, " and ' for XML/HTML text and attribute values.
std::string escape(std::string_view text);

// A categorical colour (cycles through a 10-colour palette readable on white).
std::string palette_colour(size_t index);

// "Nice" axis ticks (steps of 1, 2 or 5 × 10^k) covering [lo, hi], about `target` of them.
std::vector<double> nice_ticks(double lo, double hi, int target = 5);

// Formats a tick value without noise: 0.30000000000000004 -> "0.3", 5e-07 -> "5e-7".
std::string format_tick(double value);

using Formatter = std::function<std::string(double)>;

struct BarSeries {
  std::string name;
  std::vector<double> values;  // one per category; NaN = missing
  std::vector<double> errors;  // ± half-widths (empty, or one per category; NaN = none)
  std::string colour;          // empty = palette colour of the series index
};

struct BarChart {
  std::string title, x_label, y_label;
  std::vector<std::string> categories;  // x axis, one group of bars each
  std::vector<BarSeries> series;        // one bar per series in every group
  bool colour_by_sign = false;          // green for >= 0, red for < 0 (one series: like the paper's Fig. 3)
  bool value_labels = true;             // print each bar's value at its end
  Formatter label_format;               // default "{:+.1f}"
};

struct LineSeries {
  std::string name;
  std::vector<double> x, y;  // same length; points with a NaN are skipped
  std::string colour;
};

struct LineChart {
  std::string title, x_label, y_label;
  std::vector<LineSeries> series;
  // Categorical x axis when non-empty: the tick at x = i is labelled x_tick_labels[i].
  std::vector<std::string> x_tick_labels;
  bool markers = true;  // circles at the points (only drawn for series of at most 60 points)
  int width = 560, height = 300;
};

struct HeatMap {
  std::string title, x_label, y_label;
  std::vector<std::string> columns, rows;   // x and y category labels
  std::vector<std::vector<double>> values;  // [row][column]; NaN = no run
  Formatter cell_format;                    // default "{:.2f}"
};

std::string bar_chart(const BarChart& chart);
std::string line_chart(const LineChart& chart);
std::string heat_map(const HeatMap& map);

}  // namespace tt::svg
