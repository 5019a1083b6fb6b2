#pragma once
// What other processes did to a timed span (docs/contract.md, "Contention"): a busy machine
// costs threaded impls 2x to 60x (an OpenMP barrier waits for a thread the scheduler gave to
// someone else), so every entry says how busy the machine was while it was timed, and the
// report sets contended entries aside. Read from /proc/stat (all CPUs) and getrusage (this
// process and its waited-for children), so it works in any process that times entries.
#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace mb {

// Cores of other work (other_cores + steal_cores) above which a timed entry is contended: the
// report sets it aside (report/modebench_report/contention.py holds the same number).
inline constexpr double kContendedCores = 0.1;

// /proc/stat counts busy time in ticks, one tick per CPU either side of a span, so a span of
// `seconds` cannot tell less than cpus x tick / seconds cores of others from nothing: 0.4 cores
// for a 50 ms entry on 2 CPUs (profile()'s short entries read one stray tick as 0.15 cores).
// An entry is contended above the larger of the threshold and that resolution.
inline bool is_contended(double others_cores, double resolution_cores) {
  return others_cores > (resolution_cores > kContendedCores ? resolution_cores : kContendedCores);
}

struct ContentionFigures {
  double other_cores = 0.0;           // CPU time other processes used during the span, in cores
  double steal_cores = 0.0;           // time a hypervisor ran others on our virtual CPUs, in cores
  double involuntary_switches = 0.0;  // this process's threads preempted during the span
  double clock_ghz = 0.0;             // mean current CPU clock at the end, 0 where not readable
  double resolution_cores = 0.0;      // the least other_cores + steal_cores the counters can tell from 0
  double seconds = 0.0;               // the span
};

// Samples at construction (or start()); figures() is the span from then to now.
class ContentionMeter {
 public:
  ContentionMeter() { start(); }
  void start();
  ContentionFigures figures() const;

 private:
  struct Sample {
    double busy_s = 0.0, steal_s = 0.0;  // all CPUs, from /proc/stat
    double own_cpu_s = 0.0;              // this process and its waited-for children
    double involuntary = 0.0;
    std::chrono::steady_clock::time_point at;
  };
  static Sample sample();
  Sample start_;
};

// `run --quiet-wait`: waits up to `max_s` seconds, in 0.5 s windows, for other processes to use
// at most kContendedCores; says how long it waited and what the last window saw.
struct QuietWait {
  double waited_s = 0.0;
  double others_cores = 0.0;
  bool quiet = false;
};
QuietWait wait_for_quiet(double max_s);

// As entry counters (other_cores, steal_cores, other_cores_resolution, involuntary_switches,
// clock_ghz where readable).
void add_contention_counters(const ContentionFigures& f, std::vector<std::pair<std::string, double>>& values);
// As context facts for a whole process (contention_other_cores, …).
std::vector<std::pair<std::string, std::string>> contention_facts(const ContentionFigures& f);

}  // namespace mb
