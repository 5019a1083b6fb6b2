#include "harness/subprocess.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace mb {

std::string ChildResult::describe() const {
  if (timed_out) return "timed out";
  if (signal) return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  return "exit code " + std::to_string(exit_code);
}

Status unreported_child_status(const ChildResult& r, Side compute, const std::string& who) {
  if (r.timed_out)
    return Status::failed(ErrorClass::timeout,
                          who + " timed out after " + std::to_string(static_cast<long long>(r.timeout_s)) + " s");
  if (r.signal)
    return Status::failed(compute == Side::device ? ErrorClass::launch_failure : ErrorClass::other,
                          who + " was " + r.describe());
  return Status::failed(ErrorClass::other, who + " ended with " + r.describe() + " and no result");
}

ChildResult run_child(const std::string& executable, const std::vector<std::string>& args, const ChildEnvironment& env,
                      double timeout_s, const ProgressProbe& progressed) {
  return run_executable(executable.empty() ? self_executable() : executable, args, env.set, timeout_s, env.unset,
                        progressed);
}

void check_child_timeout(const std::string& flag, double seconds) {
  if (seconds > 0 && seconds <= 86400) return;
  char got[64];
  std::snprintf(got, sizeof got, "%g", seconds);
  throw BadInput(flag + " must be more than 0 and at most 86400 seconds, got " + got);
}

std::string self_executable() { return std::filesystem::read_symlink("/proc/self/exe").string(); }

std::string make_temp_dir(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/" + prefix + "XXXXXX";
  if (!mkdtemp(templ.data())) throw std::runtime_error("cannot create a temporary folder " + templ);
  return templ;
}

ChildResult run_self(const std::vector<std::string>& args, const std::vector<std::pair<std::string, std::string>>& env,
                     double timeout_s, const std::vector<std::string>& unset) {
  return run_executable(self_executable(), args, env, timeout_s, unset);
}

ChildResult run_executable(const std::string& exe, const std::vector<std::string>& args,
                           const std::vector<std::pair<std::string, std::string>>& env, double timeout_s,
                           const std::vector<std::string>& unset, const ProgressProbe& progressed) {
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    for (const auto& k : unset) unsetenv(k.c_str());
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(exe.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(exe.c_str(), argv.data());
    _exit(127);
  }
  ChildResult r;
  r.timeout_s = timeout_s;
  const auto limit =
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(timeout_s));
  auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  for (;;) {
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    const auto now = std::chrono::steady_clock::now();
    if (progressed && progressed()) deadline = now + limit;
    if (now > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      r.timed_out = true;
      return r;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  return r;
}

}  // namespace mb
