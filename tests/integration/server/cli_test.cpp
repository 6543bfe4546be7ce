// The fleet commands end to end through the built `hadmc` binary (skipped when it is absent):
// keys, ca, token, local publish/versions/rollout, and `serve` answering, then draining on SIGTERM.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <thread>

#include "../../unit/store/store_test_util.h"
#include "hadmc/common/atomic_file.h"
#include "hadmc/net/https_client.h"
#include "test_paths.h"

namespace hadmc {
namespace {

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

CommandResult RunShell(const std::string& command) {
  CommandResult r;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class FleetCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(HADMC_CLI_PATH, X_OK) != 0)
      GTEST_SKIP() << HADMC_CLI_PATH << " is not built (ninja hadmc)";
    state_ = dir_ / "state";
  }
  CommandResult Hadmc(const std::string& args) {
    return RunShell(std::string(HADMC_CLI_PATH) + " --threads 1 " + args + " --state-dir " + state_);
  }
  testing::ScratchDir dir_;
  std::string state_;
};

TEST_F(FleetCliTest, KeysPublishVersionsRolloutCaToken) {
  ASSERT_TRUE(WriteFileAtomically(dir_ / "m.hmc", testing::MakeSafetensors(testing::FakeModel())));
  auto r = Hadmc("publish " + dir_ / "m.hmc" + " --name resnet");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("hadmc keys init"), std::string::npos) << r.output;
  r = Hadmc("keys init");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(Hadmc("keys init").exit_code, 0);  // never overwrites a key
  r = Hadmc("publish " + dir_ / "m.hmc" + " --name resnet --channel stable");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("published resnet version 1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("on 'stable' at 100%"), std::string::npos) << r.output;
  ASSERT_EQ(Hadmc("publish " + dir_ / "m.hmc" + " --name resnet").exit_code, 0);
  r = Hadmc("versions resnet --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  ASSERT_EQ(j["versions"].size(), 2u);
  EXPECT_EQ(j["versions"][0]["parent"], 1);
  r = Hadmc("rollout --name resnet --version 2 --channel canary --percent 10");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(Hadmc("rollout --name resnet --version 7 --channel canary").exit_code, 0);
  ASSERT_EQ(Hadmc("ca init").exit_code, 0);
  r = Hadmc("ca issue-device edge-7 --class jetson_orin");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(::access((state_ + "/devices/edge-7.crt").c_str(), R_OK), 0);
  EXPECT_NE(Hadmc("ca issue-device ../evil").exit_code, 0);
  r = Hadmc("token create --name ci");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.rfind("hadmc_", 0), 0u) << r.output;
}

TEST_F(FleetCliTest, ServeCreatesDevDefaultsAnswersAndDrainsOnSigterm) {
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string log = dir_ / "serve.log";
    FILE* f = std::freopen(log.c_str(), "w", stdout);
    (void)f;
    ::dup2(::fileno(stdout), 2);
    ::execl(HADMC_CLI_PATH, HADMC_CLI_PATH, "--threads", "1", "serve", "--state-dir",
            state_.c_str(), "--device-port", "0", "--admin-port", "0", nullptr);
    ::_exit(127);
  }
  // The admin port is printed once the listeners are bound.
  std::string out;
  uint16_t admin_port = 0;
  for (int i = 0; i < 200 && admin_port == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto text = ReadFile(dir_ / "serve.log");
    out = text ? *text : "";
    const auto at = out.find("admin https://127.0.0.1:");
    if (at != std::string::npos) admin_port = static_cast<uint16_t>(std::stoi(out.substr(at + 24)));
  }
  ASSERT_NE(admin_port, 0) << out;
  EXPECT_NE(out.find("first start: created"), std::string::npos) << out;
  EXPECT_NE(out.find("HADMC_TOKEN"), std::string::npos) << out;
  auto client = net::HttpsClient::Create("https://127.0.0.1:" + std::to_string(admin_port),
                                         {state_ + "/ca/ca.crt", "", "", std::chrono::seconds(5)});
  ASSERT_TRUE(client);
  auto token = ReadFile(state_ + "/admin.token");
  ASSERT_TRUE(token);
  auto fleet = (*client)->Request("GET", "/v1/fleet", "",
                                  {{"Authorization", "Bearer " + token->substr(0, token->find('\n'))}});
  ASSERT_TRUE(fleet) << fleet.error().String();
  EXPECT_EQ(fleet->status, 200) << fleet->body;
  ::kill(pid, SIGTERM);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << *ReadFile(dir_ / "serve.log");
}

}  // namespace
}  // namespace hadmc
