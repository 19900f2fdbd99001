#include "report/svg.h"

#include <gtest/gtest.h>

#include <regex>

namespace tt::svg {
namespace {

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// The attribute values of every element `tag` that has a <title> child (bars, cells, points).
std::vector<std::map<std::string, double>> shapes(const std::string& svg_text, const std::string& tag) {
  std::vector<std::map<std::string, double>> out;
  std::regex element("<" + tag + " ([^>]*)><title>");
  std::regex attribute("([a-z]+)=\"(-?[0-9.]+)\"");
  for (auto it = std::sregex_iterator(svg_text.begin(), svg_text.end(), element); it != std::sregex_iterator(); ++it) {
    std::string attrs = (*it)[1];
    std::map<std::string, double> values;
    for (auto a = std::sregex_iterator(attrs.begin(), attrs.end(), attribute); a != std::sregex_iterator(); ++a)
      values[(*a)[1]] = std::stod((*a)[2]);
    out.push_back(values);
  }
  return out;
}

TEST(Svg, EscapeAndTicks) {
  EXPECT_EQ(escape("a<b>&\"c\"'"), "a&lt;b&gt;&amp;&quot;c&quot;&#39;");
  EXPECT_EQ(nice_ticks(-10.7, 1.9, 6), (std::vector<double>{-12, -10, -8, -6, -4, -2, 0, 2}));
  EXPECT_EQ(nice_ticks(0, 1, 5), (std::vector<double>{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1}));
  EXPECT_EQ(nice_ticks(3, 3, 5).size(), 6u);  // an empty range still gets an axis
  EXPECT_EQ(format_tick(0.30000000000000004), "0.3");
  EXPECT_EQ(format_tick(5e-7), "5e-7");
  EXPECT_EQ(format_tick(1e6), "1e6");
  EXPECT_EQ(format_tick(250), "250");
  EXPECT_EQ(format_tick(-0.0), "0");
}

TEST(Svg, BarChartBarsStartAtTheZeroLine) {
  BarChart chart;
  chart.title = "tax";
  chart.x_label = "benchmark";
  chart.y_label = "pp";
  chart.categories = {"GSM8K", "BBH", "IFEval"};
  chart.series = {{"DPO − SFT", {1.36, -10.66, -5.18}, {0.5, 0.4, kMissing}, ""}};
  chart.colour_by_sign = true;
  std::string svg_text = bar_chart(chart);
  auto bars = shapes(svg_text, "rect");
  ASSERT_EQ(bars.size(), 3u);
  // Heights are proportional to |value|, and the positive bar ends where the negative ones start.
  EXPECT_NEAR(bars[1].at("height") / bars[0].at("height"), 10.66 / 1.36, 0.02);
  EXPECT_NEAR(bars[2].at("height") / bars[0].at("height"), 5.18 / 1.36, 0.02);
  EXPECT_NEAR(bars[0].at("y") + bars[0].at("height"), bars[1].at("y"), 0.11);
  EXPECT_EQ(count_of(svg_text, "fill=\"#2e7d32\""), 1u);  // green
  EXPECT_EQ(count_of(svg_text, "fill=\"#c62828\""), 2u);  // red
  EXPECT_EQ(count_of(svg_text, "<path d=\"M"), 2u);       // error whiskers where an error is given
  for (const char* label : {">+1.4<", ">-10.7<", ">-5.2<", ">GSM8K<", ">benchmark<", ">pp<"})
    EXPECT_NE(svg_text.find(label), std::string::npos) << label;
  EXPECT_NE(svg_text.find("stroke-width=\"1.5\""), std::string::npos);  // the zero line
  EXPECT_EQ(svg_text.rfind("<svg", 0), 0u);
  EXPECT_EQ(count_of(svg_text, "<svg"), 1u);
}

TEST(Svg, GroupedBarsHaveALegendAndSkipMissingValues) {
  BarChart chart;
  chart.title = "t";
  chart.categories = {"a", "b"};
  chart.series = {{"s1", {1, kMissing}, {}, ""}, {"s2", {-2, 3}, {}, ""}};
  std::string svg_text = bar_chart(chart);
  EXPECT_EQ(shapes(svg_text, "rect").size(), 3u);
  EXPECT_NE(svg_text.find(">s1</text>"), std::string::npos);
  EXPECT_NE(svg_text.find(palette_colour(1)), std::string::npos);
}

TEST(Svg, LineChartBreaksAtMissingPoints) {
  LineChart chart;
  chart.title = "loss";
  chart.series = {{"loss", {1, 2, 3, 4, 5}, {2.0, 1.5, kMissing, 1.0, 0.8}, ""}};
  std::string svg_text = line_chart(chart);
  EXPECT_EQ(count_of(svg_text, "<polyline"), 2u);
  EXPECT_EQ(shapes(svg_text, "circle").size(), 4u);
  chart.x_tick_labels = {"1e-6", "3e-6"};
  chart.series = {{"gsm8k", {0, 1}, {8.5, 9.4}, ""}, {"bbh", {0, 1}, {20.1, 12.0}, ""}};
  svg_text = line_chart(chart);
  EXPECT_NE(svg_text.find(">3e-6</text>"), std::string::npos);
  EXPECT_NE(svg_text.find(">bbh</text>"), std::string::npos);  // legend
}

TEST(Svg, HeatMapLabelsEveryCell) {
  HeatMap map;
  map.title = "gsm8k";
  map.x_label = "learning_rate";
  map.y_label = "beta";
  map.columns = {"1e-6", "3e-6"};
  map.rows = {"0.5", "1"};
  map.values = {{8.5, 8.26}, {8.99, kMissing}};
  std::string svg_text = heat_map(map);
  auto cells = shapes(svg_text, "rect");
  ASSERT_EQ(cells.size(), 4u);
  for (const char* label : {">8.50<", ">8.26<", ">8.99<", ">—<", ">learning_rate<", ">beta<"})
    EXPECT_NE(svg_text.find(label), std::string::npos) << label;
  EXPECT_NE(svg_text.find("fill=\"#e0e0e0\""), std::string::npos);  // the missing cell
  // Darker for larger values: the maximum is the darkest colour of the scale.
  EXPECT_NE(svg_text.find("fill=\"#081d58\""), std::string::npos);
  EXPECT_NE(svg_text.find("fill=\"#ffffd9\""), std::string::npos);
}

}  // namespace
}  // namespace tt::svg
