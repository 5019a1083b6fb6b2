// The contention meter sees other processes' CPU time (harness/contention.hpp).
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include "harness/contention.hpp"

namespace {

void spin_for(std::chrono::milliseconds d) {
  const auto end = std::chrono::steady_clock::now() + d;
  volatile unsigned long x = 0;
  while (std::chrono::steady_clock::now() < end) x = x + 1;
}

double own_cpu_seconds() {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec);
}

}  // namespace

TEST(Contention, AnotherProcessSpinningDuringTheSpanShowsAsOtherCores) {
  mb::ContentionMeter meter;
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    spin_for(std::chrono::milliseconds(600));
    _exit(0);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  // Read before the child is waited for: its CPU time is not ours yet. Other work on the
  // machine only adds to it; the spinning child alone is ~0.85 cores of the 0.7 s.
  const mb::ContentionFigures f = meter.figures();
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_GT(f.other_cores, 0.5);
  EXPECT_GT(f.seconds, 0.6);
}

TEST(Contention, OurOwnWorkIsNotCountedAsOthers) {
  // This process spinning on every core for the span: had our own time not been subtracted,
  // the figure would be about every core; others can take at most a share of them meanwhile.
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  const double cpu0 = own_cpu_seconds();
  mb::ContentionMeter meter;
  std::vector<std::thread> spinners;
  for (long i = 0; i < cpus; ++i) spinners.emplace_back([] { spin_for(std::chrono::milliseconds(400)); });
  for (auto& t : spinners) t.join();
  const mb::ContentionFigures f = meter.figures();
  const double own_cores = (own_cpu_seconds() - cpu0) / f.seconds;
  if (own_cores < 0.2) GTEST_SKIP() << "the spinners hardly ran: the machine is too busy for this check";
  // Busy time is at most every core; ours is part of it (0.15: /proc/stat's 10 ms ticks).
  EXPECT_LE(f.other_cores, static_cast<double>(cpus) - own_cores + 0.15);
  EXPECT_GE(f.involuntary_switches, 0.0);
}

TEST(Contention, AShortSpanSaysWhatItCannotResolve) {
  // One /proc/stat tick per CPU either side: cpus x tick / span cores, however quiet it is.
  mb::ContentionMeter meter;
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const mb::ContentionFigures f = meter.figures();
  const double expected =
      static_cast<double>(sysconf(_SC_NPROCESSORS_ONLN)) / static_cast<double>(sysconf(_SC_CLK_TCK)) / f.seconds;
  EXPECT_NEAR(f.resolution_cores, expected, 1e-9);
  // A stray tick (0.15 cores at 2 CPUs over 66 ms) is not contention; a busy core is.
  EXPECT_FALSE(mb::is_contended(0.15, 0.3));
  EXPECT_TRUE(mb::is_contended(0.5, 0.3));
  EXPECT_TRUE(mb::is_contended(0.15, 0.04));
  EXPECT_FALSE(mb::is_contended(0.1, 0.0));
}
