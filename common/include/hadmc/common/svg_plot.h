// Small, dependency-free SVG charts for experiment reports: line charts (training curves,
// controller traces, convergence), scatter charts (Pareto fronts, accuracy vs rate) and bar
// charts over categories (a figure per target device). A report opens in any browser and diffs as text; no plotting package is needed on the machine.
//
//   PlotOptions o{.title = "activation rate", .x_label = "step", .y_label = "rate"};
//   std::string svg = RenderSvgPlot({{.label = "target 0.3", .x = xs, .y = ys}}, o);
//   WriteSvgPlot("out/ast/activation.svg", {{...}}, o);
//
// Torch-free (hadmc_core).
#pragma once

#include <string>
#include <vector>

#include "hadmc/common/error.h"

namespace hadmc {

enum class SeriesStyle {
  kLine,         // a polyline through the points in the given order
  kMarkers,      // a circle per point, no line
  kLineMarkers,  // both
  kStep,         // a staircase (post-step), e.g. a Pareto front's attainment line
  kBars,         // a bar from 0 (the axis bottom on a log axis) to each y; the bar series of a
                 // chart share each x slot side by side, in series order
};

struct PlotSeries {
  std::string label;  // legend entry; empty: not in the legend
  std::vector<double> x;
  std::vector<double> y;  // same length as x; non-finite points are skipped (gaps in a line)
  SeriesStyle style = SeriesStyle::kLine;
  std::string color;  // CSS colour; empty: the next colour of a fixed colour-blind-safe palette
};

// Horizontal or vertical reference line, e.g. a latency budget or a target rate.
struct PlotReference {
  std::string label;
  double value = 0;
  bool vertical = false;  // false: y = value; true: x = value
};

struct PlotOptions {
  std::string title;
  std::string x_label;
  std::string y_label;
  int width = 720;  // pixels
  int height = 440;
  bool log_x = false;  // log10 axes; points <= 0 on a log axis are skipped
  bool log_y = false;
  // Axis ranges; when min >= max the range is taken from the data (plus the references) with a
  // small margin and "nice" rounded ticks.
  double x_min = 0, x_max = 0;
  double y_min = 0, y_max = 0;
  std::vector<PlotReference> references;
  // Non-empty: the x axis is categorical: x = i is labelled x_categories[i], the range is
  // [-0.5, n - 0.5] (unless x_min < x_max), log_x is ignored.
  std::vector<std::string> x_categories;
};

// The complete SVG document (starts with "<svg", valid XML: every label is escaped). Series with
// no finite point are listed in the legend but draw nothing; with no finite point at all the
// chart still renders axes and says "no data". Never fails.
std::string RenderSvgPlot(const std::vector<PlotSeries>& series, const PlotOptions& options);

// Renders and writes atomically (a crash leaves the old file or the new one, never half a file).
// Errors: the file cannot be written (the message names the path).
Status WriteSvgPlot(const std::string& path, const std::vector<PlotSeries>& series,
                    const PlotOptions& options);

}  // namespace hadmc
