// The status value type against the committed vectors the report's parser reads too
// (tests/vectors/status_text.json), so C++ and Python cannot drift apart.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "harness/status.hpp"

namespace mb {
namespace {

nlohmann::json vectors() {
  std::ifstream in(std::string(MODEBENCH_SOURCE_DIR) + "/tests/vectors/status_text.json");
  if (!in) throw std::runtime_error("tests/vectors/status_text.json not found");
  return nlohmann::json::parse(in);
}

TEST(StatusText, KindsAndClassesAreTheVectorsInSeverityOrder) {
  const auto v = vectors();
  std::vector<std::string> kinds;
  for (StatusKind k : {StatusKind::ok, StatusKind::unavailable, StatusKind::busy, StatusKind::not_run,
                       StatusKind::failed, StatusKind::wrong})
    kinds.emplace_back(to_string(k));
  EXPECT_EQ(kinds, v["statuses"].get<std::vector<std::string>>());
  for (const auto& c : v["error_classes"]) EXPECT_TRUE(parse_error_class(c.get<std::string>())) << c;
  EXPECT_FALSE(parse_error_class("bogus"));
  EXPECT_LT(StatusKind::not_run, StatusKind::failed) << "enum order is severity order";
}

TEST(StatusText, EveryValidVectorParsesToItsFieldsAndFormatsBack) {
  const auto v = vectors();
  ASSERT_GE(v["valid"].size(), 10u);
  for (const auto& c : v["valid"]) {
    const std::string text = c["text"];
    const std::optional<Status> s = Status::parse(text);
    ASSERT_TRUE(s) << text;
    EXPECT_EQ(to_string(s->kind()), c["status"].get<std::string>()) << text;
    EXPECT_EQ(s->detail(), c["detail"].get<std::string>()) << text;
    if (s->kind() == StatusKind::failed) {
      EXPECT_EQ(to_string(s->error_class()), c["error_class"].get<std::string>()) << text;
    }
    EXPECT_EQ(s->text(), text);
  }
}

TEST(StatusText, InvalidVectorsAreRefused) {
  const auto v = vectors();
  for (const auto& c : v["invalid"]) EXPECT_FALSE(Status::parse(c.get<std::string>())) << c;
}

TEST(StatusText, ConstructorsFormatAsTheContractSays) {
  EXPECT_EQ(Status::failed(ErrorClass::out_of_memory, "cudaMalloc").text(), "failed: out_of_memory: cudaMalloc");
  EXPECT_EQ(Status::wrong_result(0.5, 1e-4, true).text(), "wrong: max_err=0.5 tolerance=0.0001");
  EXPECT_EQ(Status::wrong_result(0, 1e-4, false).text(),
            "wrong: max_err=nan tolerance=0.0001 (NaN or Inf in the output)");
  EXPECT_EQ(Status::busy("held").text(), "busy: held");
  EXPECT_EQ(Status().text(), "ok");
}

TEST(StatusText, ExceptionsBecomeStatuses) {
  auto status_of = [](auto thrower) {
    try {
      thrower();
    } catch (...) {
      return status_of_current_exception();
    }
    return Status::ok();
  };
  EXPECT_EQ(status_of([] { throw Unavailable("no driver"); }), Status::unavailable("no driver"));
  EXPECT_EQ(status_of([] { throw DeviceFailure(ErrorClass::timeout, "702"); }),
            Status::failed(ErrorClass::timeout, "702"));
  EXPECT_EQ(status_of([] { throw std::bad_alloc(); }).error_class(), ErrorClass::out_of_memory);
  EXPECT_EQ(status_of([] { throw std::runtime_error("x"); }), Status::failed(ErrorClass::other, "x"));
  EXPECT_THROW(status_of([] { throw BadInput("never a status"); }), BadInput);
}

}  // namespace
}  // namespace mb
