#include "hadmc/train/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

#include "hadmc/common/log.h"

namespace hadmc::train {

std::string FormatDuration(double seconds) {
  if (!(seconds >= 0) || !std::isfinite(seconds)) return "?";
  const auto total = static_cast<long long>(std::llround(seconds));
  const long long h = total / 3600, m = (total / 60) % 60, s = total % 60;
  char buf[48];
  if (h > 0) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm%02llds", h, m, s);
  } else if (m > 0) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", m, s);
  } else {
    std::snprintf(buf, sizeof buf, "%llds", s);
  }
  return buf;
}

std::string FormatProgress(const ProgressSnapshot& s) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "epoch %lld/%lld  batch %lld/%lld  loss %.4f  acc %.2f%%  %.0f img/s",
                static_cast<long long>(s.epoch), static_cast<long long>(s.epochs),
                static_cast<long long>(s.batch), static_cast<long long>(s.batches), s.loss,
                100.0 * s.accuracy, s.images_per_second);
  std::string line = buf;
  if (s.eta_seconds >= 0) line += "  ETA " + FormatDuration(s.eta_seconds);
  return line;
}

ProgressReporter::ProgressReporter(std::ostream* out, bool tty, double line_interval,
                                   double tty_interval)
    : out_(out), tty_(tty && out != nullptr), interval_(tty_ ? tty_interval : line_interval) {}

void ProgressReporter::Update(const ProgressSnapshot& s) {
  const auto now = std::chrono::steady_clock::now();
  if (shown_ && std::chrono::duration<double>(now - last_).count() < interval_) return;
  shown_ = true;
  last_ = now;
  const std::string line = FormatProgress(s);
  if (!out_) {
    Log().info("{}", line);
  } else if (tty_) {
    // Pad over the remains of a longer previous line.
    *out_ << '\r' << line << std::string(last_width_ > line.size() ? last_width_ - line.size() : 0, ' ')
          << std::flush;
    last_width_ = line.size();
  } else {
    *out_ << line << '\n' << std::flush;
  }
}

void ProgressReporter::Clear() {
  if (tty_ && last_width_ > 0) *out_ << '\r' << std::string(last_width_, ' ') << '\r' << std::flush;
  last_width_ = 0;
  shown_ = false;
}

bool ProgressReporter::StderrIsTty() { return ::isatty(STDERR_FILENO) == 1; }

}  // namespace hadmc::train
