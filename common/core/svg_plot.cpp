#include "hadmc/common/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <limits>
#include <utility>

#include "hadmc/common/atomic_file.h"

namespace hadmc {
namespace {

// Okabe-Ito, ordered so the first colours are distinguishable for every colour-vision type and
// readable on white; yellow is last because it is faint on a white background.
constexpr const char* kPalette[] = {"#0072B2", "#D55E00", "#009E73", "#E69F00",
                                    "#CC79A7", "#56B4E9", "#000000", "#F0E442"};
constexpr double kLeft = 72, kRight = 24, kTop = 40, kBottom = 56;  // room for labels
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string Escape(const std::string& s) {
  static constexpr std::pair<char, const char*> kEntities[] = {
      {'&', "&amp;"}, {'<', "&lt;"}, {'>', "&gt;"}, {'"', "&quot;"}, {'\'', "&apos;"}};
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    const auto* e = std::find_if(std::begin(kEntities), std::end(kEntities),
                                 [c](const auto& entity) { return entity.first == c; });
    if (e != std::end(kEntities)) {
      out += e->second;
    } else if (static_cast<unsigned char>(c) >= 0x20 || c == '\t' || c == '\n' || c == '\r') {
      out += c;  // other control characters are not allowed anywhere in XML 1.0, so they go
    }
  }
  return out;
}

// Pixel coordinates: a tenth of a pixel is finer than any screen and keeps the file small.
std::string Num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// "1e+06" -> "1e6", "2.5e-05" -> "2.5e-5".
std::string CompactExponent(const std::string& s) {
  const auto e = s.find('e');
  if (e == std::string::npos) return s;
  return s.substr(0, e) + "e" + std::to_string(std::stoi(s.substr(e + 1)));
}

// A tick label with just the digits the tick spacing `step` needs, so 3 * 0.1 prints "0.3".
std::string TickLabel(double v, double step) {
  if (std::abs(v) < step * 1e-9) return "0";  // also hides -0 and 1e-17 left over from i * step
  const int step_exp = static_cast<int>(std::floor(std::log10(step) + 1e-9));
  const double a = std::abs(v);
  char buf[48];
  if (a >= 1e6 || a < 1e-4) {
    const int digits = static_cast<int>(std::floor(std::log10(a) + 1e-9)) - step_exp + 1;
    std::snprintf(buf, sizeof buf, "%.*g", std::clamp(digits, 1, 15), v);
    return CompactExponent(buf);
  }
  std::snprintf(buf, sizeof buf, "%.*f", std::clamp(-step_exp, 0, 15), v);
  return buf;
}

// The 1, 2 or 5 times a power of ten closest to span / target.
double NiceStep(double span, int target) {
  const double raw = span / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / mag;
  return (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
}

struct Tick {
  double plot;  // position in plot space (log10 of the value on a log axis)
  std::string label;
};

std::vector<Tick> LinearTicks(double lo, double hi) {
  std::vector<Tick> ticks;
  const double span = hi - lo;
  if (!(span > 0) || !std::isfinite(span)) return ticks;
  const double step = NiceStep(span, 5);
  // Multiples of step rather than a running sum, so errors do not accumulate along the axis.
  for (double i = std::ceil(lo / step - 1e-9); i * step <= hi + step * 1e-9 && ticks.size() < 30;
       ++i)
    ticks.push_back({i * step, TickLabel(i * step, step)});
  return ticks;
}

// lo and hi are log10 of the axis ends.
std::vector<Tick> LogTicks(double lo, double hi) {
  std::vector<Tick> ticks;
  // Beyond 3 decades 1-2-5 marks would crowd the axis: whole decades, every 2nd, 5th... if many.
  if (hi - lo > 3) {
    const double step = std::max(1.0, NiceStep(hi - lo, 6));
    for (double k = std::ceil(lo / step - 1e-9) * step; k <= hi + 1e-9; k += step)
      ticks.push_back({k, TickLabel(std::pow(10.0, k), std::pow(10.0, k))});
    return ticks;
  }
  for (double k = std::floor(lo); k <= std::ceil(hi); ++k)
    for (const double m : {1.0, 2.0, 5.0}) {
      const double v = m * std::pow(10.0, k), p = std::log10(v);
      if (p >= lo - 1e-9 && p <= hi + 1e-9) ticks.push_back({p, TickLabel(v, v)});
    }
  if (ticks.size() >= 2) return ticks;
  // Less than a factor of ~2.5: 1-2-5 marks leave the axis bare, linear ones read better.
  ticks.clear();
  for (const Tick& t : LinearTicks(std::pow(10.0, lo), std::pow(10.0, hi)))
    if (t.plot > 0) ticks.push_back({std::log10(t.plot), t.label});
  return ticks;
}

// Maps an axis value to plot space; not finite when the value cannot be drawn.
double ToPlot(double v, bool log) {
  if (!std::isfinite(v) || (log && v <= 0)) return kNaN;
  return log ? std::log10(v) : v;
}

struct Bounds {  // of the finite values added
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  void Add(double v) {
    if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  }
};

struct Axis {
  double lo = 0, hi = 1;  // plot space
  double p0 = 0, p1 = 1;  // pixels of lo and hi
  double ToPixel(double plot) const { return p0 + (plot - lo) / (hi - lo) * (p1 - p0); }
  bool Contains(double plot) const { return plot >= lo && plot <= hi; }
};

// Plot-space range: the caller's when valid, otherwise the data's with a 5% margin.
Axis MakeAxis(const Bounds& data, bool log, double min, double max, double p0, double p1) {
  Axis axis{0, 1, p0, p1};
  const double lo = ToPlot(min, log), hi = ToPlot(max, log);
  if (std::isfinite(lo) && std::isfinite(hi) && lo < hi) {
    axis.lo = lo, axis.hi = hi;
  } else if (data.lo <= data.hi) {
    axis.lo = data.lo, axis.hi = data.hi;
    const double scale = std::max({std::abs(data.lo), std::abs(data.hi), 1e-300});
    // A flat series (or a single point) still needs a visible span to centre it in.
    const double pad = axis.hi - axis.lo > 1e-12 * scale ? 0.05 * (axis.hi - axis.lo)
                       : log                             ? 0.5
                                                         : (data.lo == 0 ? 1 : 0.1 * scale);
    axis.lo -= pad, axis.hi += pad;
  }
  return axis;
}

using Run = std::vector<std::pair<double, double>>;  // consecutive drawable points, plot space

// Splits a series at every point that cannot be drawn, so lines leave a gap there.
std::vector<Run> Runs(const PlotSeries& s, const PlotOptions& o) {
  std::vector<Run> runs(1);
  for (size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
    const double x = ToPlot(s.x[i], o.log_x), y = ToPlot(s.y[i], o.log_y);
    if (std::isfinite(x) && std::isfinite(y)) {
      runs.back().emplace_back(x, y);
    } else if (!runs.back().empty()) {
      runs.emplace_back();
    }
  }
  if (runs.back().empty()) runs.pop_back();
  return runs;
}

std::string Text(double x, double y, const std::string& text, const std::string& attrs = "") {
  if (text.empty()) return "";  // an unset title or axis label
  return "<text x=\"" + Num(x) + "\" y=\"" + Num(y) + "\"" + attrs + ">" + Escape(text) +
         "</text>\n";
}

std::string Line(double x1, double y1, double x2, double y2, const std::string& attrs) {
  return "<line x1=\"" + Num(x1) + "\" y1=\"" + Num(y1) + "\" x2=\"" + Num(x2) + "\" y2=\"" +
         Num(y2) + "\"" + attrs + "/>\n";
}

std::string Rect(double x, double y, double w, double h, const std::string& attrs) {
  return "<rect x=\"" + Num(x) + "\" y=\"" + Num(y) + "\" width=\"" + Num(w) + "\" height=\"" +
         Num(h) + "\"" + attrs + "/>\n";
}

std::string Circle(double x, double y, const std::string& color) {
  return "<circle cx=\"" + Num(x) + "\" cy=\"" + Num(y) + "\" r=\"3\" fill=\"" + color + "\"/>\n";
}

bool HasLine(SeriesStyle s) { return s != SeriesStyle::kMarkers && s != SeriesStyle::kBars; }
bool HasMarkers(SeriesStyle s) {
  return s == SeriesStyle::kMarkers || s == SeriesStyle::kLineMarkers;
}

std::string DrawTicks(const Axis& x, const Axis& y, const PlotOptions& o) {
  std::string out;
  const char* grid = " stroke=\"#e5e5e5\"";
  std::vector<Tick> x_ticks = o.log_x ? LogTicks(x.lo, x.hi) : LinearTicks(x.lo, x.hi);
  if (!o.x_categories.empty()) {
    x_ticks.clear();
    for (size_t i = 0; i < o.x_categories.size(); ++i)
      if (x.Contains(static_cast<double>(i)))
        x_ticks.push_back({static_cast<double>(i), o.x_categories[i]});
  }
  for (const Tick& t : x_ticks) {
    const double px = x.ToPixel(t.plot);
    out += Line(px, y.p0, px, y.p1, grid);
    out += Line(px, y.p0, px, y.p0 + 5, " stroke=\"#333\"");
    out += Text(px, y.p0 + 18, t.label, " text-anchor=\"middle\"");
  }
  for (const Tick& t : o.log_y ? LogTicks(y.lo, y.hi) : LinearTicks(y.lo, y.hi)) {
    const double py = y.ToPixel(t.plot);
    out += Line(x.p0, py, x.p1, py, grid);
    out += Line(x.p0 - 5, py, x.p0, py, " stroke=\"#333\"");
    out += Text(x.p0 - 8, py + 4, t.label, " text-anchor=\"end\"");
  }
  return out;
}

std::string DrawSeries(const std::vector<Run>& runs, SeriesStyle style, const std::string& color,
                       const Axis& x, const Axis& y) {
  std::string out;
  for (const Run& run : runs) {
    if (HasLine(style) && run.size() >= 2) {
      out += "<polyline fill=\"none\" stroke=\"" + color + "\" stroke-width=\"1.8\" points=\"";
      for (size_t i = 0; i < run.size(); ++i) {
        if (i > 0) out += ' ';
        // Post-step: hold the previous y until the new x, then jump.
        if (style == SeriesStyle::kStep && i > 0)
          out += Num(x.ToPixel(run[i].first)) + "," + Num(y.ToPixel(run[i - 1].second)) + " ";
        out += Num(x.ToPixel(run[i].first)) + "," + Num(y.ToPixel(run[i].second));
      }
      out += "\"/>\n";
    }
    // A lone point between gaps has no line to show it, so it gets a marker anyway.
    if (HasMarkers(style) || run.size() == 1)
      for (const auto& [px, py] : run) out += Circle(x.ToPixel(px), y.ToPixel(py), color);
  }
  return out;
}

// Bar `slot` of `slots` in each x position: `width` plot units shared by the bar series.
std::string DrawBars(const std::vector<Run>& runs, const std::string& color, const Axis& x,
                     const Axis& y, double width, size_t slot, size_t slots) {
  std::string out;
  const double bar = width / static_cast<double>(slots);
  const double base = y.ToPixel(std::clamp(0.0, y.lo, y.hi));  // the axis bottom on a log axis
  for (const Run& run : runs)
    for (const auto& [px, py] : run) {
      const double left = x.ToPixel(px - width / 2 + bar * static_cast<double>(slot));
      const double right = x.ToPixel(px - width / 2 + bar * static_cast<double>(slot + 1));
      const double top = y.ToPixel(py);
      out += Rect(std::min(left, right), std::min(top, base), std::abs(right - left),
                  std::abs(base - top), " fill=\"" + color + "\"");
    }
  return out;
}

// The x span a group of bars may fill: 80% of the closest spacing of the bars' x values.
double BarWidth(const std::vector<PlotSeries>& series, const std::vector<std::vector<Run>>& runs) {
  std::vector<double> xs;
  for (size_t i = 0; i < series.size(); ++i)
    if (series[i].style == SeriesStyle::kBars)
      for (const Run& run : runs[i])
        for (const auto& point : run) xs.push_back(point.first);
  std::sort(xs.begin(), xs.end());
  double gap = std::numeric_limits<double>::infinity();
  for (size_t i = 1; i < xs.size(); ++i)
    if (xs[i] > xs[i - 1]) gap = std::min(gap, xs[i] - xs[i - 1]);
  return 0.8 * (std::isfinite(gap) ? gap : 1.0);
}

std::string DrawReferences(const std::vector<PlotReference>& refs, const Axis& x, const Axis& y,
                           const PlotOptions& o) {
  std::string out;
  const char* dashed = " stroke=\"#444\" stroke-width=\"1.2\" stroke-dasharray=\"6 4\"";
  for (const PlotReference& r : refs) {
    const double v = ToPlot(r.value, r.vertical ? o.log_x : o.log_y);
    if (!(r.vertical ? x : y).Contains(v)) continue;  // also drops NaN
    if (r.vertical) {
      const double px = x.ToPixel(v);
      out += Line(px, y.p0, px, y.p1, dashed);
      out += Text(px + 4, y.p1 + 14, r.label, " fill=\"#444\"");
    } else {
      const double py = y.ToPixel(v);
      out += Line(x.p0, py, x.p1, py, dashed);
      out += Text(x.p1 - 4, py - 4, r.label, " fill=\"#444\" text-anchor=\"end\"");
    }
  }
  return out;
}

struct LegendEntry {
  std::string label, color;
  SeriesStyle style;
};

// The corner of the plot area where the legend box covers the fewest points (top-right on a tie),
// so a Pareto front or a converging curve is not hidden behind it.
std::pair<double, double> LegendCorner(double w, double h,
                                       const std::vector<std::vector<Run>>& runs, const Axis& x,
                                       const Axis& y) {
  auto covered = [&](double left, double top) {
    size_t n = 0;
    for (const auto& series_runs : runs)
      for (const Run& run : series_runs)
        for (const auto& [px, py] : run) {
          const double cx = x.ToPixel(px), cy = y.ToPixel(py);
          n += cx >= left && cx <= left + w && cy >= top && cy <= top + h;
        }
    return n;
  };
  std::pair<double, double> best;
  size_t fewest = std::numeric_limits<size_t>::max();
  for (const double top : {y.p1 + 8, y.p0 - h - 8})
    for (const double left : {x.p1 - w - 8, x.p0 + 8})
      if (const size_t n = covered(left, top); n < fewest) fewest = n, best = {left, top};
  return best;
}

std::string DrawLegend(const std::vector<LegendEntry>& entries,
                       const std::vector<std::vector<Run>>& runs, const Axis& x, const Axis& y) {
  if (entries.empty()) return "";
  size_t longest = 0;
  for (const auto& e : entries) longest = std::max(longest, e.label.size());
  const double w = 44 + 6.5 * static_cast<double>(longest), h = 8 + 18.0 * entries.size();
  const auto [left, top] = LegendCorner(w, h, runs, x, y);
  std::string out = Rect(left, top, w, h, " fill=\"#fff\" fill-opacity=\"0.85\" stroke=\"#ccc\"");
  for (size_t i = 0; i < entries.size(); ++i) {
    const double row = top + 13 + 18.0 * i;
    const auto& e = entries[i];
    if (HasLine(e.style))
      out +=
          Line(left + 8, row, left + 30, row, " stroke=\"" + e.color + "\" stroke-width=\"1.8\"");
    if (HasMarkers(e.style)) out += Circle(left + 19, row, e.color);
    if (e.style == SeriesStyle::kBars)
      out += Rect(left + 12, row - 5, 14, 10, " fill=\"" + e.color + "\"");
    out += Text(left + 36, row + 4, e.label);
  }
  return out;
}

std::string DrawFrame(const Axis& x, const Axis& y, const PlotOptions& o, int width, int height) {
  std::string out;
  out += Rect(x.p0, y.p1, x.p1 - x.p0, y.p0 - y.p1, " fill=\"none\" stroke=\"#333\"");
  out += Text(width / 2.0, 24, o.title, " text-anchor=\"middle\" font-size=\"15\"");
  out += Text((x.p0 + x.p1) / 2, height - 14, o.x_label, " text-anchor=\"middle\"");
  const double ly = (y.p0 + y.p1) / 2;
  out += Text(18, ly, o.y_label,
              " text-anchor=\"middle\" transform=\"rotate(-90 18 " + Num(ly) + ")\"");
  return out;
}

}  // namespace

std::string RenderSvgPlot(const std::vector<PlotSeries>& series, const PlotOptions& in_options) {
  PlotOptions options = in_options;
  const bool categorical = !options.x_categories.empty();
  if (categorical) {
    options.log_x = false;
    if (!(options.x_min < options.x_max))
      options.x_min = -0.5, options.x_max = static_cast<double>(options.x_categories.size()) - 0.5;
  }
  // Below this the margins would swallow the plot area and flip the axes.
  const int width = std::max(options.width, 240), height = std::max(options.height, 160);
  std::vector<std::vector<Run>> runs;
  Bounds xb, yb;
  for (const PlotSeries& s : series) {
    runs.push_back(Runs(s, options));
    for (const Run& run : runs.back())
      for (const auto& [px, py] : run) xb.Add(px), yb.Add(py);
  }
  const bool no_data = xb.lo > xb.hi;
  size_t bar_series = 0;
  for (const PlotSeries& s : series) bar_series += s.style == SeriesStyle::kBars;
  if (bar_series > 0 && !options.log_y && !no_data) yb.Add(0);  // bars stand on 0
  for (const PlotReference& r : options.references)
    (r.vertical ? xb : yb).Add(ToPlot(r.value, r.vertical ? options.log_x : options.log_y));
  const Axis x = MakeAxis(xb, options.log_x, options.x_min, options.x_max, kLeft, width - kRight);
  const Axis y = MakeAxis(yb, options.log_y, options.y_min, options.y_max, height - kBottom, kTop);

  const std::string w = std::to_string(width), h = std::to_string(height);
  std::string out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + w + "\" height=\"" + h +
                    "\" viewBox=\"0 0 " + w + " " + h +
                    "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  // Points outside a caller-given range are clipped rather than drawn over the labels.
  out += "<defs><clipPath id=\"plot-area\">" + Rect(x.p0, y.p1, x.p1 - x.p0, y.p0 - y.p1, "") +
         "</clipPath></defs>\n";
  out += "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n";
  out += DrawTicks(x, y, options);
  out += DrawFrame(x, y, options, width, height);

  std::vector<LegendEntry> legend;
  size_t next_color = 0;
  const double bar_width = categorical ? 0.8 : BarWidth(series, runs);
  size_t bar_slot = 0;
  out += "<g clip-path=\"url(#plot-area)\">\n";
  for (size_t i = 0; i < series.size(); ++i) {
    const PlotSeries& s = series[i];
    const std::string color =
        Escape(s.color.empty() ? kPalette[next_color++ % std::size(kPalette)] : s.color);
    out += s.style == SeriesStyle::kBars
               ? DrawBars(runs[i], color, x, y, bar_width, bar_slot++, bar_series)
               : DrawSeries(runs[i], s.style, color, x, y);
    if (!s.label.empty()) legend.push_back({s.label, color, s.style});
  }
  out += "</g>\n";
  out += DrawReferences(options.references, x, y, options);
  if (no_data)
    out += Text((x.p0 + x.p1) / 2, (y.p0 + y.p1) / 2, "no data",
                " text-anchor=\"middle\" fill=\"#888\" font-size=\"16\"");
  out += DrawLegend(legend, runs, x, y);
  return out + "</svg>\n";
}

Status WriteSvgPlot(const std::string& path, const std::vector<PlotSeries>& series,
                    const PlotOptions& options) {
  HADMC_TRY_CTX(WriteFileAtomically(path, RenderSvgPlot(series, options)), "writing plot " + path);
  return {};
}

}  // namespace hadmc
