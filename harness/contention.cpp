#include "harness/contention.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace mb {
namespace {

double seconds_of(const timeval& t) { return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec); }

// Mean of every CPU's current clock (cpufreq), 0 where the kernel does not show it (VMs).
double current_clock_ghz() {
  double sum = 0.0;
  int n = 0;
  std::error_code ec;
  for (const auto& cpu : std::filesystem::directory_iterator("/sys/devices/system/cpu", ec)) {
    std::ifstream in(cpu.path() / "cpufreq" / "scaling_cur_freq");
    double khz = 0.0;
    if (in >> khz && khz > 0) sum += khz / 1e6, ++n;
  }
  return n > 0 ? sum / n : 0.0;
}

}  // namespace

ContentionMeter::Sample ContentionMeter::sample() {
  Sample s;
  s.at = std::chrono::steady_clock::now();
  // "cpu  user nice system idle iowait irq softirq steal guest guest_nice" (USER_HZ ticks);
  // guest time is already counted in user.
  std::ifstream stat("/proc/stat");
  std::string cpu;
  double v[8] = {};
  if (stat >> cpu && cpu == "cpu") {
    for (double& x : v)
      if (!(stat >> x)) break;
  }
  const double tick = 1.0 / static_cast<double>(std::max(1L, sysconf(_SC_CLK_TCK)));
  s.busy_s = (v[0] + v[1] + v[2] + v[5] + v[6]) * tick;
  s.steal_s = v[7] * tick;
  rusage self{}, children{};
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_CHILDREN, &children);
  s.own_cpu_s = seconds_of(self.ru_utime) + seconds_of(self.ru_stime) + seconds_of(children.ru_utime) +
                seconds_of(children.ru_stime);
  s.involuntary = static_cast<double>(self.ru_nivcsw + children.ru_nivcsw);
  return s;
}

void ContentionMeter::start() { start_ = sample(); }

ContentionFigures ContentionMeter::figures() const {
  const Sample end = sample();
  ContentionFigures f;
  f.seconds = std::chrono::duration<double>(end.at - start_.at).count();
  if (f.seconds > 0) {
    // Ticks are 10 ms per CPU: a short span reads a few hundredths of a core either way.
    f.other_cores = std::max(0.0, (end.busy_s - start_.busy_s) - (end.own_cpu_s - start_.own_cpu_s)) / f.seconds;
    f.steal_cores = std::max(0.0, end.steal_s - start_.steal_s) / f.seconds;
    const double cpus = static_cast<double>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
    f.resolution_cores = cpus / static_cast<double>(std::max(1L, sysconf(_SC_CLK_TCK))) / f.seconds;
  }
  f.involuntary_switches = std::max(0.0, end.involuntary - start_.involuntary);
  f.clock_ghz = current_clock_ghz();
  return f;
}

QuietWait wait_for_quiet(double max_s) {
  QuietWait w;
  const auto t0 = std::chrono::steady_clock::now();
  do {
    const ContentionMeter window;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const ContentionFigures f = window.figures();
    w.others_cores = f.other_cores + f.steal_cores;
    w.quiet = !is_contended(w.others_cores, f.resolution_cores);
    w.waited_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } while (!w.quiet && w.waited_s < max_s);
  return w;
}

void add_contention_counters(const ContentionFigures& f, std::vector<std::pair<std::string, double>>& values) {
  values.emplace_back("other_cores", f.other_cores);
  values.emplace_back("steal_cores", f.steal_cores);
  values.emplace_back("other_cores_resolution", f.resolution_cores);
  values.emplace_back("involuntary_switches", f.involuntary_switches);
  if (f.clock_ghz > 0) values.emplace_back("clock_ghz", f.clock_ghz);
}

std::vector<std::pair<std::string, std::string>> contention_facts(const ContentionFigures& f) {
  auto fixed = [](double x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", x);
    return std::string(buf);
  };
  std::vector<std::pair<std::string, std::string>> out = {
      {"contention_other_cores", fixed(f.other_cores)},
      {"contention_steal_cores", fixed(f.steal_cores)},
      {"contention_involuntary_switches", fixed(f.involuntary_switches)},
      {"contention_seconds", fixed(f.seconds)},
  };
  if (f.clock_ghz > 0) out.emplace_back("contention_clock_ghz", fixed(f.clock_ghz));
  return out;
}

}  // namespace mb
