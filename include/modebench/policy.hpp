// modebench/policy.hpp: read a modebench fallback policy (modebench-policy/1 and /2) and
// choose a mode per call. Header-only; C++17; depends on nlohmann-json only.
//
//   #include "modebench/policy.hpp"
//   auto policy = modebench::Policy::load("policy.json");   // PolicyError / HostMismatch
//   auto d = policy.choose("linear", {{"in_features", 1280}, {"out_features", 1000}}, 8);
//   d.mode, d.impl, d.confidence, d.reason, d.source
//
// The same reader as the Python package modebench_policy (python/modebench_policy), with
// the same API and decisions; both are tested against tests/vectors/policy_*.json.
//   - Policy::load(path, {host, allow_other_host}) validates the schema and compares the
//     policy's host identity (CPU model, GPU models, compute capability, NVIDIA driver
//     release) with this machine's (HostFacts::detect(), from /proc) or the given facts;
//     a mismatch throws HostMismatch unless allow_other_host.
//   - choose(op, shape, batch, case): `source` "measured" (the batch ranges of a measured
//     case of that shape or name), "model" (the fitted cost model, /2 only) or "default"
//     (the safe default: mode "cpu", impl ""). Excluded mode/impls are never chosen; the
//     reason names them.
//   - Policy::load_or_default never throws for a bad or missing file: the safe default,
//     whose decisions carry the error in their reason (error() holds it too).
//   - plan(op, shape, case): that shape's decision for every batch, resolved once (the measured
//     case's ranges, or where the cost model's choice changes); Plan::choose(batch) is a binary
//     search returning a reference, for a hot path: no allocation, no string work. A piece's
//     reason names its batches. choose() answers from cached plans, reasons as before.
// Shapes: integer dimensions by name (see normalize); ShapeError for an unknown op or an
// impossible shape or batch.
// Hostile files: JSON nested deeper than kPolicyMaxDepth is refused before it is parsed; a
// file's integers must fit int64 and a shape dimension kMaxDimension, so no arithmetic on
// them overflows; both readers give the same outcome on every file of
// tests/vectors/policy_hostile/ (tests/vectors/policy_hostile.json says which).
#ifndef MODEBENCH_POLICY_HPP
#define MODEBENCH_POLICY_HPP

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace modebench {

inline constexpr const char* kPolicySchemaV1 = "modebench-policy/1";
inline constexpr const char* kPolicySchemaV2 = "modebench-policy/2";
inline constexpr const char* kSafeMode = "cpu";  // data and compute on the host
inline constexpr const char* kSafeImpl = "";     // whatever the application's own CPU path is
inline constexpr const char* kMeasured = "measured";
inline constexpr const char* kModel = "model";
inline constexpr const char* kDefault = "default";
// A policy nests 5 levels (document, rules, rule, ranges, range): deeper JSON is no policy.
// Refused before parsing, so no recursive step (dump, copy, a caller's walk) ever meets it.
inline constexpr int kPolicyMaxDepth = 64;
// A shape dimension is at most 2^53: exact in a double, and every sum the formulas form
// (height + 2 * pad) stays far inside int64.
inline constexpr int64_t kMaxDimension = int64_t{1} << 53;

namespace policy_detail {
// Text from the file (a key, a name) can hold any character: a message escapes the ASCII control
// characters (\n, \t, \x01), as the Python reader does, so it stays one line.
inline std::string one_line(const std::string& text) {
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}
}  // namespace policy_detail

// A policy that cannot be used; what() is one line naming the file.
class PolicyError : public std::runtime_error {
 public:
  explicit PolicyError(const std::string& what) : std::runtime_error(policy_detail::one_line(what)) {}
};
// The policy was measured on another host.
class HostMismatch : public PolicyError {
 public:
  using PolicyError::PolicyError;
};
// An unknown op, or a shape or batch the op cannot have.
class ShapeError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct Decision {
  std::string mode;
  std::string impl;
  std::optional<double> confidence;  // share of resamples in which the choice stays fastest
  std::string reason;
  std::string source;  // kMeasured, kModel or kDefault
};

// ------------------------------------------------------------------ shapes and features
// The formulas of docs/ops.md; the Python home is modebench_policy/features.py.
using Shape = std::map<std::string, int64_t>;

struct Features {
  double flop = 0, bytes = 0, weight_bytes = 0, points = 0;
  std::string kind;  // dense, depthwise or grouped (conv2d, conv1d)
};

namespace policy_detail {

inline const std::vector<std::string>& ops() {
  static const std::vector<std::string> v{"linear", "conv2d", "conv1d", "ssim", "knn"};
  return v;
}
inline const std::vector<std::string>& required(const std::string& op) {
  static const std::map<std::string, std::vector<std::string>> r{
      {"linear", {"in_features", "out_features"}},
      {"conv2d", {"in_channels", "out_channels", "height", "width", "kernel_h", "kernel_w"}},
      {"conv1d", {"in_channels", "out_channels", "length", "kernel"}},
      {"ssim", {"height", "width"}},
      {"knn", {}}};
  return r.at(op);
}
inline Shape defaults(const std::string& op) {
  if (op == "conv2d") return {{"stride_h", 1}, {"stride_w", 1}, {"pad_h", 0}, {"pad_w", 0}, {"groups", 1}};
  if (op == "conv1d") return {{"stride", 1}, {"padding", 0}, {"dilation", 1}, {"groups", 1}};
  if (op == "ssim") return {{"channels", 3}};
  return {};
}
inline std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}
constexpr double kFloatBytes = 4;
constexpr double kSsimFlopPerPixel = 3 + 5 * 2 * 21 + 21 + 1;
constexpr double kKnnBytesPerPoint = kFloatBytes * (3 + 1);

inline std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}
inline std::string ms(double seconds) { return fmt("%.3g", seconds * 1e3) + " ms"; }
inline std::string pct(double x) { return fmt("%.0f", 100 * x) + "%"; }

// The deepest nesting of arrays and objects in JSON text (brackets in strings do not count),
// counted up to just past `limit`: one pass, no recursion. The Python reader counts alike.
inline int nesting_depth(const std::string& text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size() && deepest <= limit; ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;  // the escaped character, whatever it is
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

}  // namespace policy_detail

// The canonical shape: shorthands (kernel_size, stride, padding: both of h and w) expanded,
// defaults filled in (stride 1, padding 0, groups 1, conv1d dilation 1, ssim channels 3).
inline Shape normalize(const std::string& op, const Shape& shape) {
  namespace d = policy_detail;
  if (std::find(d::ops().begin(), d::ops().end(), op) == d::ops().end())
    throw ShapeError("unknown op '" + op + "' (known: " + d::join(d::ops(), ", ") + ")");
  Shape out = d::defaults(op);
  Shape given = shape;
  if (op == "conv2d") {
    const std::pair<const char*, std::pair<const char*, const char*>> pairs[] = {
        {"kernel_size", {"kernel_h", "kernel_w"}},
        {"stride", {"stride_h", "stride_w"}},
        {"padding", {"pad_h", "pad_w"}}};
    for (const auto& [shorthand, hw] : pairs) {
      auto it = given.find(shorthand);
      if (it == given.end()) continue;
      const int64_t v = it->second;
      given.erase(it);
      given.emplace(hw.first, v);  // an explicit _h/_w wins
      given.emplace(hw.second, v);
    }
  }
  std::vector<std::string> known = d::required(op);
  for (const auto& kv : d::defaults(op)) known.push_back(kv.first);
  std::sort(known.begin(), known.end());
  for (const auto& [key, value] : given) {
    if (!std::binary_search(known.begin(), known.end(), key))
      throw ShapeError(op + " shape: unknown dimension '" + key +
                       "' (known: " + (known.empty() ? std::string("none") : d::join(known, ", ")) + ")");
    out[key] = value;
  }
  std::vector<std::string> missing;
  for (const auto& k : d::required(op))
    if (!out.count(k)) missing.push_back(k);
  if (!missing.empty()) throw ShapeError(op + " shape: missing " + d::join(missing, ", "));
  for (const auto& [key, value] : out)
    if (value < (key.rfind("pad", 0) == 0 ? 0 : 1) || value > kMaxDimension)
      throw ShapeError(op + " shape: '" + key + "' = " + std::to_string(value) + " is out of range");
  if (op == "conv2d") {
    const int64_t g = out["groups"];
    if (out["in_channels"] % g || out["out_channels"] % g)
      throw ShapeError("conv2d shape: groups = " + std::to_string(g) + " does not divide in_channels and out_channels");
    if (out["height"] + 2 * out["pad_h"] < out["kernel_h"] || out["width"] + 2 * out["pad_w"] < out["kernel_w"])
      throw ShapeError("conv2d shape: the kernel is larger than the padded image");
  }
  if (op == "conv1d") {
    const int64_t g = out["groups"];
    if (out["in_channels"] % g || out["out_channels"] % g)
      throw ShapeError("conv1d shape: groups = " + std::to_string(g) + " does not divide in_channels and out_channels");
    // Dimensions are at most kMaxDimension: the product fits int64 as a double comparison.
    if (static_cast<double>(out["length"]) + 2.0 * static_cast<double>(out["padding"]) <
        static_cast<double>(out["dilation"]) * static_cast<double>(out["kernel"] - 1) + 1.0)
      throw ShapeError("conv1d shape: the dilated kernel is longer than the padded length");
  }
  return out;
}

inline Features features(const std::string& op, const Shape& shape, int64_t batch) {
  namespace d = policy_detail;
  Shape s = normalize(op, shape);
  if (batch < 1) throw ShapeError(op + ": batch = " + std::to_string(batch) + " must be at least 1");
  // Products of dimensions are doubles, formed left to right as features.py forms them: no
  // int64 product can overflow, and both readers round alike.
  auto v = [&s](const char* key) { return static_cast<double>(s[key]); };
  const double f = static_cast<double>(batch);
  Features x;
  x.kind = "dense";
  if (op == "linear") {
    const double i = v("in_features"), o = v("out_features");
    x.weight_bytes = d::kFloatBytes * (o * i + o);
    x.flop = 2.0 * f * i * o;
    x.bytes = d::kFloatBytes * (f * i + f * o) + x.weight_bytes;
  } else if (op == "conv2d") {
    // Dimensions are at most kMaxDimension (normalize): these sums fit int64.
    const double p = static_cast<double>((s["height"] + 2 * s["pad_h"] - s["kernel_h"]) / s["stride_h"] + 1);
    const double q = static_cast<double>((s["width"] + 2 * s["pad_w"] - s["kernel_w"]) / s["stride_w"] + 1);
    const double k = v("out_channels");
    const double window = static_cast<double>(s["in_channels"] / s["groups"]) * v("kernel_h") * v("kernel_w");
    x.weight_bytes = d::kFloatBytes * (k * window + k);
    x.flop = 2.0 * f * k * p * q * window;
    x.bytes = d::kFloatBytes * (f * v("in_channels") * v("height") * v("width") + f * k * p * q) + x.weight_bytes;
    if (s["groups"] != 1)
      x.kind = s["groups"] == s["in_channels"] && s["groups"] == s["out_channels"] ? "depthwise" : "grouped";
  } else if (op == "conv1d") {
    // Lout = floor((length + 2 padding - dilation (kernel - 1) - 1) / stride) + 1, in doubles:
    // dilation x kernel may pass int64 at kMaxDimension each (normalize keeps it positive).
    const double lout =
        std::floor((v("length") + 2.0 * v("padding") - v("dilation") * (v("kernel") - 1.0) - 1.0) / v("stride")) + 1.0;
    const double k = v("out_channels");
    const double window = static_cast<double>(s["in_channels"] / s["groups"]) * v("kernel");
    x.weight_bytes = d::kFloatBytes * (k * window + k);
    x.flop = 2.0 * f * k * lout * window;
    x.bytes = d::kFloatBytes * (f * v("in_channels") * v("length") + f * k * lout) + x.weight_bytes;
    if (s["groups"] != 1)
      x.kind = s["groups"] == s["in_channels"] && s["groups"] == s["out_channels"] ? "depthwise" : "grouped";
  } else if (op == "ssim") {
    const double pixels = f * v("channels") * v("height") * v("width");
    x.flop = d::kSsimFlopPerPixel * pixels;
    x.bytes = 3 * d::kFloatBytes * pixels + d::kFloatBytes;
  } else {  // knn
    x.points = f;
    x.bytes = d::kKnnBytesPerPoint * f;
  }
  return x;
}

// The value of one cost-model term (modebench_policy.features.term_value).
inline double term_value(const std::string& term, const Features& x, bool copies_weights) {
  if (term == "call") return 1.0;
  if (term == "copied") return x.bytes - (copies_weights ? 0.0 : x.weight_bytes);
  if (term == "flop") return x.flop;
  if (term == "bytes") return x.bytes;
  if (term == "points") return x.points;
  throw ShapeError("unknown cost-model term '" + term + "'");
}

// ------------------------------------------------------------------ host identity
// The facts an application can read cheaply; one unknown on either side is not compared.
struct HostFacts {
  std::optional<std::string> cpu_model;
  std::optional<std::vector<std::string>> gpus;  // sorted; empty: no NVIDIA driver
  std::optional<std::string> gpu_cc;             // "8.6"; not in /proc: the application gives it
  std::optional<std::string> driver;             // NVIDIA driver release, "580.65.06"

  static HostFacts detect(std::optional<std::string> gpu_cc = std::nullopt, const std::string& proc = "/proc") {
    namespace fs = std::filesystem;
    HostFacts h;
    h.gpu_cc = std::move(gpu_cc);
    h.cpu_model = cpu_model_of(proc);
    std::vector<std::string> models;
    std::error_code ec;
    for (fs::directory_iterator it(proc + "/driver/nvidia/gpus", ec), end; !ec && it != end; it.increment(ec)) {
      std::ifstream in(it->path() / "information");
      for (std::string line; std::getline(in, line);)
        if (line.rfind("Model:", 0) == 0) models.push_back(trim(line.substr(6)));
    }
    std::sort(models.begin(), models.end());
    h.gpus = models;
    if (std::ifstream in(proc + "/driver/nvidia/version"); in) {
      static const std::regex re(R"(Kernel Module\s+(?:for \S+\s+)?([0-9]+\.[0-9]+(?:\.[0-9]+)?))");
      std::string line;
      std::getline(in, line);
      std::smatch m;
      if (std::regex_search(line, m, re)) h.driver = m[1].str();
    }
    return h;
  }

  // /proc/cpuinfo's "model name" (the harness's `cpu_model` too). aarch64 kernels write none:
  // there the first CPU's "CPU implementer" and "CPU part", as "aarch64 implementer 0x41 part
  // 0xd4f" (a Grace core), stable ids rather than a table of names to keep up; "unknown" where
  // neither is written; nullopt where the file cannot be read.
  static std::optional<std::string> cpu_model_of(const std::string& proc = "/proc") {
    std::ifstream in(proc + "/cpuinfo");
    if (!in) return std::nullopt;
    std::string implementer, part;
    auto value = [](const std::string& line) {
      const auto colon = line.find(':');
      return colon == std::string::npos ? trim(line) : trim(line.substr(colon + 1));
    };
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("model name", 0) == 0) return value(line);
      if (implementer.empty() && line.rfind("CPU implementer", 0) == 0) implementer = value(line);
      if (part.empty() && line.rfind("CPU part", 0) == 0) part = value(line);
    }
    if (!implementer.empty() && !part.empty()) return "aarch64 implementer " + implementer + " part " + part;
    return "unknown";
  }

  static std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return "";
    return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
  }
};

struct LoadOptions {
  std::optional<HostFacts> host;  // default: HostFacts::detect()
  bool allow_other_host = false;
};

// ------------------------------------------------------------------ plans
class Policy;

// One op and shape's decision for every batch (Policy::plan): the batches cut into pieces of
// one decision each. choose(batch) is a binary search over the pieces' first batches.
class Plan {
 public:
  struct Piece {
    int64_t batch_min = 1;
    std::optional<int64_t> batch_max;  // nullopt: no upper bound
    Decision decision;                 // its reason speaks of the piece's batches
  };

  // The decision at `batch` (ShapeError below 1, as choose()).
  const Decision& choose(int64_t batch) const { return pieces_[index(batch)].decision; }
  const std::vector<Piece>& pieces() const { return pieces_; }

 private:
  friend class Policy;
  // How choose() words a measured decision at one batch: head + "batch <n>" + tail.
  struct Wording {
    std::string head, tail;
    bool per_batch = false;  // false: the piece's reason is the whole reason
  };

  size_t index(int64_t batch) const {
    if (batch < 1) throw ShapeError(op_ + ": batch = " + std::to_string(batch) + " must be at least 1");
    if (starts_.empty()) throw std::logic_error("modebench::Plan: empty (plans come from Policy::plan)");
    return static_cast<size_t>(std::upper_bound(starts_.begin(), starts_.end(), batch) - starts_.begin()) - 1;
  }
  void add(int64_t first, Decision d) { add(first, std::move(d), Wording()); }
  void add(int64_t first, Decision d, Wording w) {
    if (!pieces_.empty()) pieces_.back().batch_max = first - 1;
    starts_.push_back(first);
    pieces_.push_back({first, std::nullopt, std::move(d)});
    wording_.push_back(std::move(w));
  }

  std::string op_;
  bool from_rule_ = false;  // a measured case's ranges, not the cost model
  std::vector<int64_t> starts_;
  std::vector<Piece> pieces_;
  std::vector<Wording> wording_;
};

// ------------------------------------------------------------------ the policy
class Policy {
 public:
  using json = nlohmann::json;

  // Reads and validates `path` and compares hosts; PolicyError (HostMismatch) otherwise.
  static Policy load(const std::string& path, const LoadOptions& options = {}) {
    Policy p(read_document(path), path);
    const json& doc = p.doc_;
    const Identity ident =
        doc["schema"] == kPolicySchemaV2 ? identity_of(doc["identity"]) : identity_of_v1(doc["host"]);
    const HostFacts here = options.host ? *options.host : HostFacts::detect();
    std::vector<std::string> diff;
    auto compare = [&diff](const char* fact, const auto& mine, const auto& theirs) {
      if (mine && theirs && *mine != *theirs)
        diff.push_back(std::string(fact) + ": here " + describe(*mine) + ", policy " + describe(*theirs));
    };
    std::optional<std::vector<std::string>> gpus = here.gpus;
    if (gpus) std::sort(gpus->begin(), gpus->end());
    compare("cpu_model", here.cpu_model, ident.cpu_model);
    compare("gpus", gpus, ident.gpus);
    compare("gpu_cc", here.gpu_cc, ident.gpu_cc);
    compare("driver", here.driver, ident.driver);
    if (!diff.empty()) {
      const std::string what = policy_detail::join(diff, "; ");
      if (!options.allow_other_host)
        throw HostMismatch(path + ": measured on another host (" + what +
                           "); load with allow_other_host=true to use it anyway");
      p.host_note_ = "policy from another host (" + what + ")";
    }
    return p;
  }

  // The safe default: every choice is the cpu mode, and says why.
  static Policy safe_default(const std::string& why) {
    Policy p(json{{"schema", nullptr}, {"host", json::object()}, {"rules", json::array()}}, "(none)");
    p.error_ = why;
    return p;
  }

  // As load, but a missing, bad or other-host file gives the safe default.
  static Policy load_or_default(const std::string& path, const LoadOptions& options = {}) {
    try {
      return load(path, options);
    } catch (const PolicyError& e) {
      return safe_default(e.what());
    } catch (const std::exception& e) {  // documented never to throw: a bug of ours is a bad file too
      return safe_default(path + ": cannot use the policy: " + e.what());
    }
  }

  // The mode (and impl) for one call of `op` on `shape` at `batch`; `case_name` (optional)
  // names a measured case directly (knn's cases differ by point cloud, not shape).
  Decision choose(const std::string& op, const Shape& shape, int64_t batch, const std::string& case_name = "") const {
    const Shape s = normalize(op, shape);
    const Features x = features(op, s, batch);
    if (error_) return decided({kSafeMode, kSafeImpl, std::nullopt, "safe default (cpu): " + *error_, kDefault});
    const std::shared_ptr<const Plan> p = cached_plan(op, s, case_name);
    if (!p->from_rule_) return decided(modelled(op, x, case_name));  // its reason gives this batch's predictions
    const size_t i = p->index(batch);
    const Plan::Wording& w = p->wording_[i];
    Decision d = p->pieces_[i].decision;
    if (w.per_batch) d.reason = w.head + "batch " + std::to_string(batch) + w.tail;
    return d;
  }

  // The decisions of `op` on `shape` (or on the measured case `case_name`) for every batch,
  // resolved once; ShapeError as choose(). Plan::choose(batch) gives choose()'s mode, impl,
  // confidence and source at every batch.
  Plan plan(const std::string& op, const Shape& shape, const std::string& case_name = "") const {
    return make_plan(op, normalize(op, shape), case_name, true);
  }

  const std::string& schema() const { return schema_; }
  const std::string& path() const { return path_; }
  bool is_default() const { return error_.has_value(); }
  std::string error() const { return error_.value_or(""); }
  const std::string& host_note() const { return host_note_; }
  const json& document() const { return doc_; }

 private:
  struct Identity {
    std::optional<std::string> cpu_model, gpu_cc, driver;
    std::optional<std::vector<std::string>> gpus;
  };

  Policy(json doc, std::string path) : doc_(std::move(doc)), path_(std::move(path)) {
    schema_ = doc_["schema"].is_string() ? doc_["schema"].get<std::string>() : "";
    const json& rules = doc_["rules"];
    for (size_t i = 0; i < rules.size(); ++i) {
      const json& r = rules[i];
      std::optional<Shape> shape;
      const auto& known = policy_detail::ops();
      if (r.contains("shape") && r["shape"].is_object() &&
          std::find(known.begin(), known.end(), r["op"].get<std::string>()) != known.end()) {
        try {
          shape = normalize(r["op"].get<std::string>(), r["shape"].get<Shape>());
        } catch (const ShapeError& e) {
          throw PolicyError(path_ + ": not a usable modebench policy: rules[" + std::to_string(i) +
                            "].shape: " + e.what());
        }
      }
      shapes_.push_back(shape);
    }
  }

  static std::string describe(const std::string& v) { return "'" + v + "'"; }
  static std::string describe(const std::vector<std::string>& v) {
    return v.empty() ? "no GPU" : "[" + policy_detail::join(v, ", ") + "]";
  }

  // A context value, or nullopt for none/unknown/empty, also with a note ("none (no CUDA driver)").
  static std::optional<std::string> known(const json& v) {
    if (!v.is_string()) return std::nullopt;
    std::string s = HostFacts::trim(v.get<std::string>());
    std::string lower = s;
    // ASCII only, whatever the locale: Python's reader lowers the same letters.
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
    if (lower.empty() || lower == "none" || lower == "unknown" || lower.rfind("none (", 0) == 0 ||
        lower.rfind("unknown (", 0) == 0)
      return std::nullopt;
    return s;
  }
  static Identity identity_of(const json& id) {
    Identity out;
    out.cpu_model = known(id.value("cpu_model", json()));
    out.gpu_cc = known(id.value("gpu_cc", json()));
    out.driver = known(id.value("driver", json()));
    if (id.contains("gpus") && id["gpus"].is_array()) {
      std::vector<std::string> g = id["gpus"].get<std::vector<std::string>>();
      std::sort(g.begin(), g.end());
      out.gpus = g;
    }
    return out;
  }
  static Identity identity_of_v1(const json& host) {
    Identity out;
    out.cpu_model = known(host.value("cpu_model", json()));
    out.gpu_cc = known(host.value("device_cc", json()));
    if (auto name = known(host.value("device_name", json()))) out.gpus = std::vector<std::string>{*name};
    return out;
  }

  // ---- validation
  class Check {
   public:
    explicit Check(std::string path) : path_(std::move(path)) {}
    [[noreturn]] void fail(const std::string& where, const std::string& why) const {
      throw PolicyError(path_ + ": not a usable modebench policy: " + where + " " + why);
    }
    const json& obj(const json& v, const std::string& where) const {
      if (!v.is_object()) fail(where, "is not an object");
      return v;
    }
    const json& arr(const json& v, const std::string& where) const {
      if (!v.is_array()) fail(where, "is not a list");
      return v;
    }
    void text(const json& v, const std::string& where) const {
      if (!v.is_string()) fail(where, "is not a string");
    }
    // A file's integers are int64 in both readers. nlohmann keeps 2^63..2^64-1 as unsigned and larger
    // ones as doubles, Python keeps them exact: all are refused alike.
    std::optional<int64_t> integer(const json& v, const std::string& where, int64_t lo, bool null = false) const {
      if (v.is_null() && null) return std::nullopt;
      const bool fits =
          v.is_number_unsigned() ? v.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX) : v.is_number_integer();
      if (!fits || v.get<int64_t>() < lo)
        fail(where, "is not an integer in [" + std::to_string(lo) + ", " + std::to_string(INT64_MAX) + "]" +
                        (null ? " or null" : ""));
      return v.get<int64_t>();
    }
    void number(const json& v, const std::string& where, std::optional<double> lo = std::nullopt,
                std::optional<double> hi = std::nullopt, bool null = false) const {
      if (v.is_null() && null) return;
      if (!v.is_number() || !std::isfinite(v.get<double>()))
        fail(where, std::string("is not a finite number") + (null ? " or null" : ""));
      const double x = v.get<double>();
      if ((lo && x < *lo) || (hi && x > *hi))
        fail(where, "= " + v.dump() + " is outside [" + (lo ? json(*lo).dump() : "None") + ", " +
                        (hi ? json(*hi).dump() : "inf") + "]");
    }
    void boolean(const json& v, const std::string& where) const {
      if (!v.is_boolean()) fail(where, "is not true/false");
    }

   private:
    std::string path_;
  };

  static const json& at(const json& o, const char* key) {
    static const json null_value;
    auto it = o.find(key);
    return it == o.end() ? null_value : *it;
  }

  // A range without enough runs: its mark, or (files without it) no confidence.
  static bool provisional_range(const json& r) {
    return r.contains("provisional") ? r["provisional"].get<bool>() : at(r, "confidence").is_null();
  }

  static void check_excluded(const Check& c, const json& e, const std::string& where, bool with_op) {
    c.obj(e, where);
    if (with_op) c.text(at(e, "op"), where + ".op");
    for (const char* k : {"mode", "impl", "reason"}) c.text(at(e, k), where + "." + k);
    if (e.contains("status")) c.text(e["status"], where + ".status");
  }

  static void check_rule(const Check& c, const json& r, const std::string& where, bool v2) {
    c.obj(r, where);
    c.text(at(r, "op"), where + ".op");
    c.text(at(r, "case"), where + ".case");
    if (!at(r, "shape").is_null()) {
      for (const auto& [k, v] : c.obj(r["shape"], where + ".shape").items()) c.integer(v, where + ".shape." + k, 0);
    } else if (v2 && !r.contains("shape")) {
      c.fail(where + ".shape", "is missing (null when the shape is not known)");
    }
    const json& ranges = c.arr(at(r, "ranges"), where + ".ranges");
    int64_t prev = 0;
    for (size_t j = 0; j < ranges.size(); ++j) {
      const std::string w = where + ".ranges[" + std::to_string(j) + "]";
      const json& x = c.obj(ranges[j], w);
      const int64_t lo = *c.integer(at(x, "batch_min"), w + ".batch_min", 1);
      const auto hi = c.integer(at(x, "batch_max"), w + ".batch_max", lo, true);
      if (lo - 1 != prev)  // lo >= 1, prev <= INT64_MAX: neither side overflows
        c.fail(w + ".batch_min", "= " + std::to_string(lo) + " does not follow the previous range (expected " +
                                     std::to_string(static_cast<uint64_t>(prev) + 1) + ")");
      if (!hi && j != ranges.size() - 1) c.fail(w + ".batch_max", "is open (null) but the range is not the last");
      if (hi) prev = *hi;
      c.text(at(x, "mode"), w + ".mode");
      c.text(at(x, "impl"), w + ".impl");
      c.number(at(x, "confidence"), w + ".confidence", 0.0, 1.0, true);
      if (x.contains("provisional") || v2) c.boolean(at(x, "provisional"), w + ".provisional");
      if (!at(x, "processes").is_null() || v2) c.integer(at(x, "processes"), w + ".processes", 0);
      if (!provisional_range(x) && at(x, "confidence").is_null())
        c.fail(w + ".confidence", "is null but the range is not provisional");
    }
    if (!ranges.empty() && !at(ranges.back(), "batch_max").is_null())
      c.fail(where + ".ranges[-1].batch_max", "must be null (the last range is open)");
    if (r.contains("excluded")) {
      const json& ex = c.arr(r["excluded"], where + ".excluded");
      for (size_t j = 0; j < ex.size(); ++j)
        check_excluded(c, ex[j], where + ".excluded[" + std::to_string(j) + "]", false);
    }
    if (r.contains("measured_batches")) {
      const json& mb = c.arr(r["measured_batches"], where + ".measured_batches");
      for (size_t j = 0; j < mb.size(); ++j)
        c.integer(mb[j], where + ".measured_batches[" + std::to_string(j) + "]", 1);
    }
  }

  static void check_model(const Check& c, const json& m, const std::string& where) {
    c.obj(m, where);
    for (const char* k : {"op", "mode", "impl"}) c.text(at(m, k), where + "." + k);
    const json& terms = c.obj(at(m, "terms"), where + ".terms");
    if (terms.empty()) c.fail(where + ".terms", "is empty");
    for (const auto& [k, v] : terms.items()) {
      if (k != "call" && k != "flop" && k != "bytes" && k != "points" && k != "copied")
        c.fail(where + ".terms." + k, "is not a known term (call, flop, bytes, points, copied)");
      c.number(v, where + ".terms." + k, 0.0);
    }
    const json& kinds = c.arr(at(m, "kinds"), where + ".kinds");
    for (size_t j = 0; j < kinds.size(); ++j) c.text(kinds[j], where + ".kinds[" + std::to_string(j) + "]");
    c.boolean(at(m, "copies_weights"), where + ".copies_weights");
    c.number(at(m, "margin"), where + ".margin", 0.0);
    if (!at(m, "loco").is_null()) {
      const json& lo = c.obj(m["loco"], where + ".loco");
      c.integer(at(lo, "cases"), where + ".loco.cases", 2);
      c.number(at(lo, "median_rel_error"), where + ".loco.median_rel_error", 0.0);
    }
  }

  static json validate(json doc, const std::string& path) {
    const Check c(path);
    c.obj(doc, "the document");
    const json& schema = at(doc, "schema");
    if (schema != kPolicySchemaV1 && schema != kPolicySchemaV2)
      throw PolicyError(path + ": schema is " +
                        (schema.is_string() ? "'" + schema.get<std::string>() + "'" : schema.dump()) +
                        ", expected one of " + kPolicySchemaV1 + ", " + kPolicySchemaV2);
    const bool v2 = schema == kPolicySchemaV2;
    c.obj(at(doc, "host"), "host");
    const json& rules = c.arr(at(doc, "rules"), "rules");
    for (size_t i = 0; i < rules.size(); ++i) check_rule(c, rules[i], "rules[" + std::to_string(i) + "]", v2);
    if (v2) {
      const json& ident = c.obj(at(doc, "identity"), "identity");
      for (const char* k : {"cpu_model", "gpu_cc", "driver"})
        if (!at(ident, k).is_null()) c.text(ident[k], std::string("identity.") + k);
      if (!at(ident, "gpus").is_null()) {
        const json& g = c.arr(ident["gpus"], "identity.gpus");
        for (size_t j = 0; j < g.size(); ++j) c.text(g[j], "identity.gpus[" + std::to_string(j) + "]");
      }
      const json& models = c.arr(at(doc, "models"), "models");
      for (size_t i = 0; i < models.size(); ++i) check_model(c, models[i], "models[" + std::to_string(i) + "]");
      const json& ex = c.arr(at(doc, "excluded"), "excluded");
      for (size_t i = 0; i < ex.size(); ++i) check_excluded(c, ex[i], "excluded[" + std::to_string(i) + "]", true);
      for (const auto& [k, v] : c.obj(at(doc, "risks"), "risks").items()) c.integer(v, "risks." + k, 0);
    }
    return doc;
  }

  static json read_document(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw PolicyError(path + ": cannot read the policy: no such file or not readable");
    const std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (raw.find_first_not_of(" \t\r\n") == std::string::npos) throw PolicyError(path + ": empty file, not a policy");
    if (policy_detail::nesting_depth(raw, kPolicyMaxDepth) > kPolicyMaxDepth)
      throw PolicyError(path + ": not a usable modebench policy: nested deeper than " +
                        std::to_string(kPolicyMaxDepth) + " levels");
    json doc;
    try {
      doc = json::parse(raw);
    } catch (const json::exception& e) {
      throw PolicyError(path + ": not JSON (" + e.what() + ")");
    }
    try {
      return validate(std::move(doc), path);
    } catch (const json::exception& e) {  // a type the checks did not foresee
      throw PolicyError(path + ": not a usable modebench policy: " + e.what());
    }
  }

  // ---- decisions
  Decision decided(Decision d) const {
    if (!host_note_.empty()) d.reason += " [" + host_note_ + "]";
    return d;
  }

  static std::string exclusions(const json& entries) {
    std::vector<std::pair<std::string, std::vector<std::string>>> by_reason;
    for (const json& e : entries) {
      const std::string why = e["reason"].get<std::string>();
      auto it = std::find_if(by_reason.begin(), by_reason.end(), [&](const auto& p) { return p.first == why; });
      if (it == by_reason.end()) it = by_reason.insert(by_reason.end(), {why, {}});
      it->second.push_back(e["mode"].get<std::string>() + "/" + e["impl"].get<std::string>());
    }
    if (by_reason.empty()) return "";
    std::vector<std::string> parts;
    for (const auto& [why, lines] : by_reason) parts.push_back(policy_detail::join(lines, ", ") + " (" + why + ")");
    return "; never chosen here: " + policy_detail::join(parts, "; ");
  }

  // A measured decision at `batch`; its reason is head + "batch <n>" + tail (per_batch) or head.
  struct MeasuredAt {
    Decision decision;
    std::string head, tail;
    bool per_batch = true;
  };

  MeasuredAt measured_at(const json& rule, int64_t batch) const {
    const std::string name = rule["op"].get<std::string>() + "/" + rule["case"].get<std::string>();
    const std::string excl = exclusions(rule.value("excluded", json::array()));
    const json& ranges = rule["ranges"];
    if (ranges.empty()) {
      const std::string why = "safe default (cpu): no mode gave a correct result on " + name + excl;
      return {{kSafeMode, kSafeImpl, std::nullopt, why, kDefault}, why, "", false};
    }
    const json* hit = &ranges.back();
    for (const json& x : ranges)
      if (batch >= x["batch_min"].get<int64_t>() &&
          (at(x, "batch_max").is_null() || batch <= at(x, "batch_max").get<int64_t>())) {
        hit = &x;
        break;
      }
    const json& r = *hit;
    const std::string span =
        std::to_string(r["batch_min"].get<int64_t>()) + ".." +
        (at(r, "batch_max").is_null() ? std::string("inf") : std::to_string(at(r, "batch_max").get<int64_t>()));
    const bool provisional = provisional_range(r);
    const json& processes = at(r, "processes");
    const std::string n = processes.is_null() ? "?" : std::to_string(processes.get<int64_t>());
    const std::string certainty = provisional
                                      ? "provisional: not enough runs (n = " + n + ")"
                                      : "confidence " + policy_detail::fmt("%.2f", at(r, "confidence").get<double>()) +
                                            " over " + n + " processes";
    std::string where;
    if (rule.contains("measured_batches") && !rule["measured_batches"].empty()) {
      const auto b = rule["measured_batches"].get<std::vector<int64_t>>();
      const int64_t lo = *std::min_element(b.begin(), b.end()), hi = *std::max_element(b.begin(), b.end());
      if (batch > hi)
        where = "; beyond the largest measured batch (" + std::to_string(hi) + ")";
      else if (batch < lo)
        where = "; below the smallest measured batch (" + std::to_string(lo) + ")";
    }
    std::optional<double> confidence;
    if (!provisional) confidence = at(r, "confidence").get<double>();
    const std::string line = r["mode"].get<std::string>() + "/" + r["impl"].get<std::string>();
    const std::string head = "measured: " + name + " ";
    const std::string tail = " in " + span + ": " + line + " fastest (" + certainty + ")" + where + excl;
    return {{r["mode"].get<std::string>(), r["impl"].get<std::string>(), confidence,
             head + "batch " + std::to_string(batch) + tail, kMeasured},
            head,
            tail};
  }

  // The cost model's choice for features `x`: the predictions in order, the fastest (best) and
  // the one chosen (pick), or, with no model to ask, the safe default (fallback).
  struct Pred {
    double t;
    uint64_t risk;
    const json* m;
  };
  struct ModelChoice {
    std::vector<Pred> preds;
    const json* best = nullptr;
    const json* pick = nullptr;
    double t_pick = 0;
    Decision fallback;  // when pick is null
    std::string missing, excl;
    double time_of(const json* m) const {
      for (const Pred& p : preds)
        if (p.m == m) return p.t;
      return 0;
    }
  };

  static std::string line_of(const json& m) {
    return m["mode"].get<std::string>() + "/" + m["impl"].get<std::string>();
  }

  ModelChoice model_choice(const std::string& op, const Features& x, const std::string& case_name) const {
    ModelChoice out;
    out.missing =
        !case_name.empty() ? "no measured case '" + case_name + "' of " + op : "not a measured " + op + " shape";
    if (schema_ != kPolicySchemaV2) {
      out.fallback = {kSafeMode, kSafeImpl, std::nullopt,
                      "safe default (cpu): " + out.missing + ", and a " + schema_ + " policy has no cost model",
                      kDefault};
      return out;
    }
    json excluded = json::array();
    for (const json& e : doc_["excluded"])
      if (e["op"] == op) excluded.push_back(e);
    out.excl = exclusions(excluded);
    const json& risks = doc_["risks"];
    // Risks are int64 >= 0 (validated); one more than the largest still fits uint64.
    uint64_t unknown_risk = 0;
    for (const auto& [k, v] : risks.items()) unknown_risk = std::max(unknown_risk, v.get<uint64_t>());
    unknown_risk += 1;
    for (const json& m : doc_["models"]) {
      if (m["op"] != op) continue;
      bool barred = false;
      for (const json& e : excluded) barred = barred || (e["mode"] == m["mode"] && e["impl"] == m["impl"]);
      const auto& kinds = m["kinds"];
      if (barred || std::find(kinds.begin(), kinds.end(), x.kind) == kinds.end()) continue;
      double t = 0;
      for (const auto& [term, c] : m["terms"].items())
        t += c.get<double>() * term_value(term, x, m["copies_weights"].get<bool>());
      const std::string mode = m["mode"].get<std::string>();
      out.preds.push_back({t, risks.contains(mode) ? risks[mode].get<uint64_t>() : unknown_risk, &m});
    }
    if (out.preds.empty()) {
      out.fallback = {kSafeMode, kSafeImpl, std::nullopt,
                      "safe default (cpu): " + out.missing + ", and no cost model covers " + op + " shapes of kind '" +
                          x.kind + "'" + out.excl,
                      kDefault};
      return out;
    }
    std::stable_sort(out.preds.begin(), out.preds.end(), [](const Pred& a, const Pred& b) {
      return std::make_tuple(a.t, a.risk, (*a.m)["mode"].get<std::string>(), (*a.m)["impl"].get<std::string>()) <
             std::make_tuple(b.t, b.risk, (*b.m)["mode"].get<std::string>(), (*b.m)["impl"].get<std::string>());
    });
    const Pred best = out.preds.front();
    // A riskier mode must win by more than its model's held-out error.
    const double margin = (*best.m)["margin"].get<double>();
    const Pred* pick = &out.preds.front();
    for (const Pred& p : out.preds)
      if (p.risk < best.risk && p.t <= best.t * (1 + margin) &&
          (pick == &out.preds.front() || std::make_pair(p.risk, p.t) < std::make_pair(pick->risk, pick->t)))
        pick = &p;
    out.best = best.m;
    out.pick = pick->m;
    out.t_pick = pick->t;
    return out;
  }

  Decision modelled(const std::string& op, const Features& x, const std::string& case_name) const {
    const ModelChoice c = model_choice(op, x, case_name);
    if (!c.pick) return c.fallback;
    const json& chosen = *c.pick;
    std::string reason = "model: " + c.missing + "; predicted " + line_of(chosen) + " " + policy_detail::ms(c.t_pick);
    std::vector<std::string> next;
    for (const Pred& p : c.preds)
      if (p.m != c.pick && next.size() < 2) next.push_back(line_of(*p.m) + " " + policy_detail::ms(p.t));
    if (!next.empty()) reason += ", next " + policy_detail::join(next, ", ");
    if (c.pick != c.best)
      reason += "; " + line_of(*c.best) + " predicted faster but within its model's error (" +
                policy_detail::pct((*c.best)["margin"].get<double>()) + "): the safer mode kept";
    const json& loco = at(chosen, "loco");
    reason += loco.is_null() ? std::string("; no held-out check (fitted on one case)")
                             : "; held-out error " + policy_detail::pct(loco["median_rel_error"].get<double>()) +
                                   " over " + std::to_string(loco["cases"].get<int64_t>()) + " cases";
    return {chosen["mode"].get<std::string>(), chosen["impl"].get<std::string>(), std::nullopt, reason + c.excl,
            kModel};
  }

  // ---- plans
  // `modelled`: also cut the cost model's choice into pieces (choose() words model decisions
  // per batch and needs no pieces of them).
  Plan make_plan(const std::string& op, const Shape& s, const std::string& case_name, bool modelled) const {
    features(op, s, 1);  // the same errors as choose()
    Plan p;
    p.op_ = op;
    if (error_) {
      p.add(1, decided({kSafeMode, kSafeImpl, std::nullopt, "safe default (cpu): " + *error_, kDefault}));
    } else if (const json* rule = find_rule(op, s, case_name)) {
      p.from_rule_ = true;
      plan_measured(*rule, p);
    } else if (modelled) {
      plan_modelled(op, s, case_name, p);
    }
    return p;
  }

  const json* find_rule(const std::string& op, const Shape& s, const std::string& case_name) const {
    const json& rules = doc_["rules"];
    for (size_t i = 0; i < rules.size(); ++i) {
      const json& r = rules[i];
      if (r["op"] != op) continue;
      if (!case_name.empty() ? r["case"] == case_name : (shapes_[i] && *shapes_[i] == s)) return &r;
    }
    return nullptr;
  }

  // A measured case: a piece per range, cut again where "below/beyond the measured batches" starts.
  void plan_measured(const json& rule, Plan& p) const {
    std::vector<int64_t> starts{1};
    for (const json& r : rule["ranges"]) starts.push_back(r["batch_min"].get<int64_t>());
    if (rule.contains("measured_batches") && !rule["measured_batches"].empty()) {
      const auto b = rule["measured_batches"].get<std::vector<int64_t>>();
      starts.push_back(*std::min_element(b.begin(), b.end()));
      const int64_t hi = *std::max_element(b.begin(), b.end());
      if (hi < std::numeric_limits<int64_t>::max()) starts.push_back(hi + 1);
    }
    std::sort(starts.begin(), starts.end());
    starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
    std::vector<MeasuredAt> at_start;
    for (int64_t b : starts) at_start.push_back(measured_at(rule, b));
    for (size_t k = 0; k < starts.size(); ++k) {
      const MeasuredAt& m = at_start[k];
      Decision d = m.decision;
      if (m.per_batch) {
        const std::string last = k + 1 < starts.size() ? std::to_string(starts[k + 1] - 1) : "inf";
        d.reason = m.head + "batches " + std::to_string(starts[k]) + ".." + last + m.tail;
      } else {
        d.reason = m.head;
      }
      Plan::Wording w{m.head, m.tail, m.per_batch};
      d = decided(std::move(d));
      if (!host_note_.empty()) (w.per_batch ? w.tail : w.head) += " [" + host_note_ + "]";
      p.add(starts[k], std::move(d), std::move(w));
    }
  }

  // The cost model: predicted times are affine in the batch (every feature is), so the choice
  // can change only where two predictions (one scaled by a model's margin) cross. Each crossing
  // is a candidate; where the choice differs across one, a binary search finds the first batch
  // of the new choice.
  void plan_modelled(const std::string& op, const Shape& s, const std::string& case_name, Plan& p) const {
    const auto choice_at = [&](int64_t b) { return model_choice(op, features(op, s, b), case_name); };
    const ModelChoice first = choice_at(1);
    if (!first.pick) {
      p.add(1, decided(first.fallback));
      return;
    }
    constexpr int64_t kLast = std::numeric_limits<int64_t>::max();
    const ModelChoice second = choice_at(2);
    std::vector<double> alpha, beta, margins{0.0};
    for (size_t i = 0; i < first.preds.size(); ++i) {
      const double b = second.time_of(first.preds[i].m) - first.preds[i].t;
      beta.push_back(b);
      alpha.push_back(first.preds[i].t - b);
      margins.push_back((*first.preds[i].m)["margin"].get<double>());
    }
    std::vector<int64_t> candidates;
    for (size_t i = 0; i < alpha.size(); ++i)
      for (size_t j = 0; j < alpha.size(); ++j)
        for (double m : margins) {
          const double slope = beta[i] - (1 + m) * beta[j];
          if (i == j || slope == 0) continue;
          const double root = -(alpha[i] - (1 + m) * alpha[j]) / slope;
          if (std::isfinite(root) && root >= 1 && root < 9.2e18) candidates.push_back(static_cast<int64_t>(root) + 1);
        }
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    candidates.push_back(kLast);
    int64_t start = 1, checked = 1;
    ModelChoice current = first;
    std::vector<std::pair<int64_t, ModelChoice>> pieces;
    for (int64_t c : candidates) {
      if (c <= checked) continue;
      ModelChoice at_c = choice_at(c);
      while (at_c.pick != current.pick) {
        int64_t lo = checked, hi = c;  // current at lo, another choice at hi
        while (hi - lo > 1) {
          const int64_t mid = lo + (hi - lo) / 2;
          (choice_at(mid).pick == current.pick ? lo : hi) = mid;
        }
        pieces.emplace_back(start, current);
        start = checked = hi;
        current = choice_at(hi);
        if (hi == c) break;
      }
      checked = c;
    }
    pieces.emplace_back(start, current);
    for (size_t k = 0; k < pieces.size(); ++k) {
      const ModelChoice& mc = pieces[k].second;
      const std::string last = k + 1 < pieces.size() ? std::to_string(pieces[k + 1].first - 1) : "inf";
      const json& chosen = *mc.pick;
      std::string reason = "model: " + mc.missing + "; " + line_of(chosen) + " for batches " +
                           std::to_string(pieces[k].first) + ".." + last +
                           " (a riskier mode only where predicted faster by more than its model's error)";
      const json& loco = at(chosen, "loco");
      reason += loco.is_null() ? std::string("; no held-out check (fitted on one case)")
                               : "; held-out error " + policy_detail::pct(loco["median_rel_error"].get<double>()) +
                                     " over " + std::to_string(loco["cases"].get<int64_t>()) + " cases";
      p.add(pieces[k].first, decided({chosen["mode"].get<std::string>(), chosen["impl"].get<std::string>(),
                                      std::nullopt, reason + mc.excl, kModel}));
    }
  }

  // Plans by op, case and normalized shape, shared by copies of this policy. Bounded: an
  // application with endless shapes starts again instead of growing without end.
  struct PlanCache {
    std::mutex mutex;
    std::map<std::string, std::shared_ptr<const Plan>> plans;
  };
  static constexpr size_t kMaxCachedPlans = 4096;

  std::shared_ptr<const Plan> cached_plan(const std::string& op, const Shape& s, const std::string& case_name) const {
    std::string key = op + '\n' + case_name;
    for (const auto& [k, v] : s) key += '\n' + k + '=' + std::to_string(v);
    {
      std::lock_guard<std::mutex> lock(cache_->mutex);
      auto it = cache_->plans.find(key);
      if (it != cache_->plans.end()) return it->second;
    }
    auto made = std::make_shared<const Plan>(make_plan(op, s, case_name, false));
    std::lock_guard<std::mutex> lock(cache_->mutex);
    if (cache_->plans.size() >= kMaxCachedPlans) cache_->plans.clear();
    return cache_->plans.emplace(std::move(key), std::move(made)).first->second;
  }

  json doc_;
  std::string path_;
  std::string schema_;
  std::string host_note_;
  std::optional<std::string> error_;
  std::vector<std::optional<Shape>> shapes_;
  std::shared_ptr<PlanCache> cache_ = std::make_shared<PlanCache>();
};

}  // namespace modebench

#endif  // MODEBENCH_POLICY_HPP
