#include "hadmc/common/svg_plot.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <regex>

#include "hadmc/common/atomic_file.h"

namespace hadmc {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (auto pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + needle.size()))
    ++n;
  return n;
}

// The number of vertices of each <polyline>, in document order.
std::vector<size_t> PolylineSizes(const std::string& svg) {
  std::vector<size_t> sizes;
  const std::regex points("<polyline[^>]* points=\"([^\"]*)\"");
  for (std::sregex_iterator it(svg.begin(), svg.end(), points), end; it != end; ++it)
    sizes.push_back(Count((*it)[1].str(), ","));
  return sizes;
}

class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = ::testing::TempDir() + "hadmc_svg_XXXXXX";
    path_ = ::mkdtemp(tmpl.data()) ? tmpl : "";
    EXPECT_FALSE(path_.empty());
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

PlotSeries Series(std::vector<double> x, std::vector<double> y,
                  SeriesStyle style = SeriesStyle::kLine, std::string label = "") {
  PlotSeries s;
  s.label = std::move(label);
  s.x = std::move(x);
  s.y = std::move(y);
  s.style = style;
  return s;
}

TEST(SvgPlotTest, IsOneSvgDocument) {
  const std::string svg = RenderSvgPlot({Series({0, 1, 2}, {3, 1, 2})}, PlotOptions{});
  EXPECT_THAT(svg, StartsWith("<svg"));
  EXPECT_THAT(svg, EndsWith("</svg>\n"));
  EXPECT_EQ(Count(svg, "<svg"), 1u);
}

TEST(SvgPlotTest, EscapesEveryLabel) {
  PlotOptions o;
  o.title = "a<b & c";
  o.x_label = "say \"hi\"";
  o.y_label = "it's";
  o.references = {{"x>y", 1.5, false}};
  const std::string svg =
      RenderSvgPlot({Series({0, 1, 2}, {1, 2, 3}, SeriesStyle::kLine, "p&q")}, o);
  EXPECT_THAT(svg, Not(HasSubstr("a<b & c")));
  EXPECT_THAT(svg, HasSubstr("a&lt;b &amp; c"));
  EXPECT_THAT(svg, HasSubstr("say &quot;hi&quot;"));
  EXPECT_THAT(svg, HasSubstr("it&apos;s"));
  EXPECT_THAT(svg, HasSubstr("x&gt;y"));
  EXPECT_THAT(svg, HasSubstr("p&amp;q"));
  EXPECT_THAT(svg, Not(HasSubstr("p&q")));
}

TEST(SvgPlotTest, PolylineHasOneVertexPerPoint) {
  const std::string svg = RenderSvgPlot({Series({0, 1, 2, 3, 4}, {1, 3, 2, 5, 4})}, {});
  EXPECT_THAT(PolylineSizes(svg), ::testing::ElementsAre(5u));
  EXPECT_EQ(Count(svg, "<circle"), 0u);
}

TEST(SvgPlotTest, NonFinitePointSplitsTheLine) {
  const std::string svg = RenderSvgPlot(
      {Series({0, 1, 2, 3, 4, 5}, {1, 2, kNaN, 4, 5, std::numeric_limits<double>::infinity()})},
      {});
  EXPECT_THAT(PolylineSizes(svg), ::testing::ElementsAre(2u, 2u));
}

TEST(SvgPlotTest, StepHoldsEachValueUntilTheNextX) {
  const std::string svg = RenderSvgPlot({Series({0, 1, 2}, {3, 2, 1}, SeriesStyle::kStep)}, {});
  EXPECT_THAT(PolylineSizes(svg), ::testing::ElementsAre(5u));
}

TEST(SvgPlotTest, MarkerStylesDrawACirclePerPoint) {
  const std::string markers =
      RenderSvgPlot({Series({0, 1, 2}, {3, 2, 1}, SeriesStyle::kMarkers)}, {});
  EXPECT_EQ(Count(markers, "<circle"), 3u);
  EXPECT_TRUE(PolylineSizes(markers).empty());
  const std::string both =
      RenderSvgPlot({Series({0, 1, 2}, {3, 2, 1}, SeriesStyle::kLineMarkers)}, {});
  EXPECT_EQ(Count(both, "<circle"), 3u);
  EXPECT_THAT(PolylineSizes(both), ::testing::ElementsAre(3u));
}

// The x of each <rect> filled with `color`, in document order.
std::vector<double> RectXs(const std::string& svg, const std::string& color) {
  std::vector<double> xs;
  const std::regex rect("<rect x=\"([^\"]*)\"[^>]* fill=\"" + color + "\"/>");
  for (std::sregex_iterator it(svg.begin(), svg.end(), rect), end; it != end; ++it)
    xs.push_back(std::stod((*it)[1].str()));
  return xs;
}

TEST(SvgPlotTest, BarSeriesSitSideBySideOverCategories) {
  PlotSeries a = Series({0, 1, 2}, {2, 3, 1}, SeriesStyle::kBars, "predicted");
  PlotSeries b = Series({0, 1, 2}, {2.5, kNaN, 1.5}, SeriesStyle::kBars, "measured");
  a.color = "#111111";
  b.color = "#222222";
  PlotOptions o;
  o.x_categories = {"x86_cpu", "jetson_orin", "mlu370"};
  const std::string svg = RenderSvgPlot({a, b}, o);
  const std::vector<double> ax = RectXs(svg, "#111111"), bx = RectXs(svg, "#222222");
  // One bar per finite point (plus the legend swatch, last), the NaN one left out.
  ASSERT_EQ(ax.size(), 4u);
  ASSERT_EQ(bx.size(), 3u);
  EXPECT_LT(ax[0], bx[0]);  // same category: the first series on the left
  EXPECT_LT(bx[0], ax[1]);  // categories in order
  EXPECT_LT(ax[1], ax[2]);
  for (const std::string& label : o.x_categories) EXPECT_THAT(svg, HasSubstr(">" + label + "<"));
  EXPECT_TRUE(PolylineSizes(svg).empty());
}

TEST(SvgPlotTest, BarsStandOnZero) {
  PlotOptions o;
  o.x_categories = {"a"};
  const std::string svg = RenderSvgPlot({Series({0}, {5}, SeriesStyle::kBars)}, o);
  EXPECT_THAT(svg, HasSubstr(">0</text>"));  // the y axis reaches down to 0
}

TEST(SvgPlotTest, LogAxisSkipsNonPositivePoints) {
  PlotOptions o;
  o.log_y = true;
  const std::string svg =
      RenderSvgPlot({Series({1, 2, 3, 4, 5}, {-1, 0, 1, 10, 100}, SeriesStyle::kMarkers)}, o);
  EXPECT_EQ(Count(svg, "<circle"), 3u);
  EXPECT_THAT(svg, Not(HasSubstr("nan")));
  EXPECT_THAT(svg, Not(HasSubstr("inf")));
  for (const char* decade : {">1<", ">10<", ">100<"}) EXPECT_THAT(svg, HasSubstr(decade));
}

TEST(SvgPlotTest, ReferenceLineIsDashedAndLabelled) {
  PlotOptions o;
  o.references = {{"budget 5 ms", 5, false}, {"step 3", 3, true}};
  const std::string svg = RenderSvgPlot({Series({0, 1, 2, 4}, {1, 2, 3, 4})}, o);
  EXPECT_THAT(svg, HasSubstr(">budget 5 ms<"));
  EXPECT_THAT(svg, HasSubstr(">step 3<"));
  EXPECT_EQ(Count(svg, "stroke-dasharray"), 2u);
}

TEST(SvgPlotTest, SaysNoDataWhenNothingIsFinite) {
  EXPECT_THAT(RenderSvgPlot({}, {}), HasSubstr(">no data<"));
  const std::string svg =
      RenderSvgPlot({Series({kNaN, 1}, {2, kNaN}, SeriesStyle::kLine, "lost")}, PlotOptions{});
  EXPECT_THAT(svg, HasSubstr(">no data<"));
  EXPECT_THAT(svg, HasSubstr(">lost<"));  // still in the legend
  EXPECT_THAT(svg, EndsWith("</svg>\n"));
}

TEST(SvgPlotTest, TicksAreNiceAndCompact) {
  const std::string svg = RenderSvgPlot({Series({0, 1}, {0.013, 0.87})}, {});
  for (const char* tick : {">0.2<", ">0.4<", ">0.6<", ">0.8<"}) EXPECT_THAT(svg, HasSubstr(tick));
  EXPECT_THAT(svg, Not(HasSubstr("0000")));

  PlotOptions o;  // 3 * 0.1 is 0.30000000000000004 in binary
  o.y_min = 0;
  o.y_max = 0.6;
  const std::string tenths = RenderSvgPlot({Series({0, 1}, {0.1, 0.5})}, o);
  EXPECT_THAT(tenths, HasSubstr(">0.3<"));
  EXPECT_THAT(tenths, Not(HasSubstr("0.30000")));
}

TEST(SvgPlotTest, LargeAndTinyTicksUseShortExponents) {
  PlotOptions o;
  o.log_x = true;
  const std::string svg = RenderSvgPlot({Series({1e-6, 1e6}, {1, 2})}, o);
  EXPECT_THAT(svg, HasSubstr(">1e6<"));
  EXPECT_THAT(svg, HasSubstr(">1e-6<"));
  EXPECT_THAT(svg, Not(HasSubstr("e+")));
}

TEST(SvgPlotTest, LogAxisOverAFewDecadesMarksOneTwoFive) {
  PlotOptions o;
  o.log_x = true;
  const std::string svg = RenderSvgPlot({Series({0.5, 40}, {1, 2})}, o);
  for (const char* tick : {">0.5<", ">1<", ">2<", ">5<", ">10<", ">20<"})
    EXPECT_THAT(svg, HasSubstr(tick));
}

TEST(SvgPlotTest, LegendMovesAwayFromThePoints) {
  // Every point sits in the top-right corner, where the legend would go by default.
  const std::string svg =
      RenderSvgPlot({Series({0, 9, 9.5, 10}, {0, 9, 9.5, 10}, SeriesStyle::kMarkers, "front")}, {});
  std::smatch m;
  ASSERT_TRUE(std::regex_search(svg, m, std::regex("<rect x=\"([0-9.]+)\"[^>]*fill-opacity")));
  EXPECT_LT(std::stod(m[1].str()), 720 / 2.0);
}

TEST(SvgPlotTest, SeriesTakeDistinctPaletteColoursUnlessGiven) {
  PlotSeries red = Series({0, 1}, {0, 1}, SeriesStyle::kLine, "red");
  red.color = "#ff0000";
  const std::string svg = RenderSvgPlot({Series({0, 1}, {1, 0}, SeriesStyle::kLine, "a"), red,
                                         Series({0, 1}, {2, 0}, SeriesStyle::kLine, "b")},
                                        {});
  EXPECT_THAT(svg, HasSubstr("stroke=\"#0072B2\""));
  EXPECT_THAT(svg, HasSubstr("stroke=\"#D55E00\""));
  EXPECT_THAT(svg, HasSubstr("stroke=\"#ff0000\""));
}

TEST(SvgPlotTest, WriteToMissingDirectoryNamesThePath) {
  const std::string path = "/nonexistent-hadmc-dir/plot.svg";
  auto st = WriteSvgPlot(path, {Series({0, 1}, {0, 1})}, {});
  ASSERT_FALSE(st);
  EXPECT_THAT(st.error().message(), HasSubstr(path));
}

TEST(SvgPlotTest, WrittenFileReadsBackAsRendered) {
  ScratchDir dir;
  PlotOptions o;
  o.title = "activation rate";
  const std::vector<PlotSeries> series = {Series({0, 1, 2}, {0.3, 0.2, 0.25})};
  ASSERT_TRUE(WriteSvgPlot(dir / "plot.svg", series, o));
  auto bytes = ReadFile(dir / "plot.svg");
  ASSERT_TRUE(bytes) << bytes.error().String();
  EXPECT_EQ(*bytes, RenderSvgPlot(series, o));
}

TEST(SvgPlotTest, XmllintAcceptsAHostileChart) {
  if (::access("/usr/bin/xmllint", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/xmllint";
  ScratchDir dir;
  PlotOptions o;
  o.title = "<script>alert('x')</script> & \"co\"\x01";
  o.log_x = true;
  o.references = {{"a<b", 10, true}, {"c&d", 0.5, false}};
  PlotSeries s = Series({0, 1, 10, 100}, {kNaN, 0.2, 0.9, 0.4}, SeriesStyle::kLineMarkers, "<s>");
  s.color = "\"><evil";
  ASSERT_TRUE(WriteSvgPlot(dir / "plot.svg", {s, Series({}, {})}, o));
  EXPECT_EQ(std::system(("/usr/bin/xmllint --noout " + (dir / "plot.svg")).c_str()), 0);
}

}  // namespace
}  // namespace hadmc
