// Fault trials of the edge daemon: the real hadmc-edged binary killed with SIGKILL at random
// points of sync, load and swap, and a disk that fills up during a sync.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <regex>
#include <thread>

#include "../../unit/edge/edge_test_models.h"
#include "../server/cloud_server_fixture.h"
#include "hadmc/crypto/sha256.h"
#include "hadmc/edge/daemon.h"
#include "hadmc/edge/sync_journal.h"
#include "hadmc/model/hmc_file.h"
#include "hadmc/zoo/zoo.h"
#include "test_paths.h"

namespace hadmc::edge {
namespace {
namespace fs = std::filesystem;

// A model of `arch` with weights drawn from `seed`: every version differs in every block.
std::string Model(const std::string& arch, uint64_t seed) {
  return testing::ZooModelBytes(arch, seed, 0.05);
}

uint16_t FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

class FaultTest : public server::testing::CloudServerTest {
 protected:
  // The daemon's config as a file, as an operator writes it.
  std::string WriteConfig(const fs::path& state, uint16_t api_port) {
    auto key = crypto::SigningKey::Load(state_.SigningKey());
    EXPECT_TRUE(key);
    const fs::path pub = dir_ / "signing.pub";
    EXPECT_TRUE(WriteFileAtomically(pub, key->Public().Pem()));
    const nlohmann::json j = {
        {"server",
         {{"url", "https://127.0.0.1:" + std::to_string(server_->device_port())},
          {"ca", state_.CaCert()},
          {"cert", state_.DeviceCert("edge-1")},
          {"key", state_.DeviceKey("edge-1")}}},
        {"model", "resnet"},
        {"pinned_keys", {pub.string()}},
        {"state_dir", state.string()},
        {"sync", {{"interval_s", 1}, {"jitter", 0.1}, {"max_backoff_s", 2}, {"concurrency", 4}}},
        {"runtime", {{"probation_s", 0}}},
        {"api", {{"port", api_port}}}};
    const fs::path path = dir_ / "edged.json";
    EXPECT_TRUE(WriteFileAtomically(path, j.dump(2)));
    return path.string();
  }

  // Starts hadmc-edged; its output is appended to `log`.
  static pid_t Spawn(const std::string& config, const fs::path& log) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      const std::string bin = std::string(HADMC_BUILD_DIR) + "/edge/hadmc-edged";
      ::execl(bin.c_str(), bin.c_str(), "--config", config.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    return pid;
  }
  static void Kill(pid_t pid) {
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
  }

  // The version /v1/status reports, 0 without a model or an answer.
  static uint64_t ServedVersion(const fs::path& state, uint16_t port) {
    auto c = net::HttpsClient::Create("https://127.0.0.1:" + std::to_string(port),
                                      {(state / "api" / "ca.crt").string(), "", "",
                                       std::chrono::seconds(2)});
    if (!c) return 0;
    auto r = (*c)->Request("GET", "/v1/status", "", {});
    if (!r || r->status != 200) return 0;
    const auto j = nlohmann::json::parse(r->body, nullptr, false);
    return j.is_object() && j["version"].is_number_unsigned() ? j["version"].get<uint64_t>() : 0;
  }

  // Block answers (200 and 206) the server's device listener has given, from its /metrics.
  uint64_t BlocksServed() {
    auto r = Admin()->Request("GET", "/metrics", "", {});
    EXPECT_TRUE(r && r->status == 200);
    if (!r) return 0;
    uint64_t n = 0;
    const std::regex line(
        R"re(hadmc_http_requests_total\{listener="device",route="/v1/blocks/\{sha256\}",status="20[06]"\} (\d+))re");
    for (std::sregex_iterator it(r->body.begin(), r->body.end(), line), end; it != end; ++it)
      n += std::stoull((*it)[1]);
    return n;
  }

  static bool WaitFor(const std::function<bool()>& done, int seconds) {
    for (int i = 0; i < seconds * 20; ++i) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
};

// Every block file in the store hashes to its name, and the journal opens.
void ExpectStoreVerified(const fs::path& state, int trial) {
  auto store = store::BlockStore::Open((state / "blocks").string());
  ASSERT_TRUE(store) << store.error().String();
  auto ids = store->List();
  ASSERT_TRUE(ids) << ids.error().String();
  for (const std::string& id : *ids) {
    auto bytes = ReadFile(store->PathFor(id));
    ASSERT_TRUE(bytes) << bytes.error().String();
    EXPECT_EQ(crypto::Sha256Hex(*bytes), id) << "trial " << trial << ": an unverified block";
  }
  auto journal = SyncJournal::Open((state / "journal.db").string());
  ASSERT_TRUE(journal) << "trial " << trial << ": " << journal.error().String();
}

TEST_F(FaultTest, KilledAtRandomPointsItAlwaysRestartsOnAVerifiedModelAndResumes) {
  const fs::path state = dir_ / "edge";
  const fs::path log = dir_ / "edged.log";
  const uint16_t port = FreePort();
  const std::string config = WriteConfig(state, port);
  // resnet8 (0.3 MB) in 4 KiB blocks: about 100 blocks a version, so a sync has many points to
  // cut, and a trial stays short.
  std::vector<std::string> files;
  for (uint64_t v = 1; v <= 11; ++v) files.push_back(Model("resnet8", v));
  uint64_t published = 0;
  auto publish = [&] {
    ASSERT_EQ(PublishToStable(files[published], 100, 4096), published + 1);
    ++published;
  };
  publish();

  // The daemon has started (loaded its libraries, opened its state) once it has written to its
  // log since `from`.
  auto wait_started = [&](uintmax_t from) {
    return WaitFor([&] { return fs::exists(log) && fs::file_size(log) > from; }, 30);
  };
  // One undisturbed start: from its first output until it serves, to spread the kills over.
  pid_t pid = Spawn(config, log);
  ASSERT_TRUE(wait_started(0));
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitFor([&] { return ServedVersion(state, port) == 1; }, 60)) << ReadFile(log).value_or("");
  const auto first_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  Kill(pid);
  // Blocks per version (they never straddle tensors, so more than size / 64 KiB): what the
  // first sync fetched.
  const uint64_t blocks_per_version = BlocksServed();

  std::mt19937 rng(20261124);
  std::uniform_int_distribution<int> at(0, static_cast<int>(first_ms * 6 / 5));
  constexpr int kTrials = 20;
  const uint64_t served_before = BlocksServed();
  std::map<std::string, int> killed_after;  // the daemon's last log line before each kill
  for (int trial = 0; trial < kTrials; ++trial) {
    // A new version every second trial: the kills land in its sync, load and swap, and the
    // trial after resumes what was cut off.
    if (trial % 2 == 0 && published < files.size()) publish();
    const uintmax_t log_size = fs::exists(log) ? fs::file_size(log) : 0;
    pid = Spawn(config, log);
    EXPECT_TRUE(wait_started(log_size));
    std::this_thread::sleep_for(std::chrono::milliseconds(at(rng)));
    Kill(pid);
    const std::string out = ReadFile(log).value_or("").substr(log_size);
    // The phase: the latest of the daemon's progress lines in this run's output.
    std::string phase = out.empty() ? "before any output" : "starting up";
    size_t latest = 0;
    for (const auto& [marker, name] : std::vector<std::pair<std::string, std::string>>{
             {"serving stored version", "after serving the stored version (polling)"},
             {"fetching", "fetching blocks"},
             {"; loading", "loading, warming up or swapping"},
             {"now serving", "after a swap"}}) {
      const size_t at_pos = out.rfind(marker);
      if (at_pos != std::string::npos && at_pos >= latest) {
        latest = at_pos;
        phase = name;
      }
    }
    ++killed_after[phase];
    ExpectStoreVerified(state, trial);
    if (HasFatalFailure()) return;
  }
  for (const auto& [phase, n] : killed_after) std::cout << "killed " << phase << ": " << n << "\n";
  // The last restart: serving at once from disk (a verified version), then the newest.
  pid = Spawn(config, log);
  EXPECT_TRUE(WaitFor([&] { return ServedVersion(state, port) == published; }, 60))
      << ReadFile(log).value_or("");
  Kill(pid);
  // Resumed, not refetched: every block of the versions published during the trials crossed
  // the wire about once. A kill can cut off at most `concurrency` (4) blocks, each resumed
  // with one more (Range) request; refetching verified blocks after a restart would add whole
  // versions (about 100 blocks each).
  // (A version published while the daemon was down may be skipped for a newer one, so fewer
  // is fine; the newest one is complete, checked above.)
  const uint64_t fetched = BlocksServed() - served_before;
  EXPECT_LE(fetched, (published - 1) * blocks_per_version + kTrials * 4)
      << published << " versions of " << blocks_per_version << " blocks";
  EXPECT_GE(fetched, blocks_per_version);
  ExpectStoreVerified(state, kTrials);
}

TEST_F(FaultTest, ADiskThatFillsUpDuringASyncLeavesTheOldModelServing) {
  // A 4 MiB tmpfs as the state directory: room for resnet8 (0.3 MB), not for mobilenet_v2.
  const fs::path state = dir_ / "small-disk";
  fs::create_directories(state);
  if (::mount("tmpfs", state.c_str(), "tmpfs", 0, "size=4m") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno)
                 << "); the full-disk trial needs root or CAP_SYS_ADMIN";
  struct Unmount {
    fs::path p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{state};

  ASSERT_EQ(PublishToStable(Model("resnet8", 1)), 1u);
  EdgedConfig c;
  auto key = crypto::SigningKey::Load(state_.SigningKey());
  ASSERT_TRUE(key);
  ASSERT_TRUE(WriteFileAtomically(dir_ / "signing.pub", key->Public().Pem()));
  c.server_url = "https://127.0.0.1:" + std::to_string(server_->device_port());
  c.ca_file = state_.CaCert();
  c.cert_file = state_.DeviceCert("edge-1");
  c.key_file = state_.DeviceKey("edge-1");
  c.model = "resnet";
  c.pinned_keys = {dir_ / "signing.pub"};
  c.state_dir = state.string();
  c.poll_interval_s = 1;
  c.max_backoff_s = 1;
  c.probation_s = 0;
  c.api_port = 0;
  auto d = Daemon::Create(c);
  ASSERT_TRUE(d) << d.error().String();
  ASSERT_TRUE((*d)->Start());
  std::thread loop([&] { (*d)->Run(); });
  const Daemon& daemon = **d;
  EXPECT_TRUE(WaitFor([&] { return daemon.runtime().Active() != nullptr; }, 30)) << daemon.last_error();

  ASSERT_EQ(PublishToStable(Model("mobilenet_v2", 2)), 2u);
  EXPECT_TRUE(WaitFor([&] { return !daemon.last_error().empty(); }, 30));
  EXPECT_NE(daemon.last_error().find("No space left on device"), std::string::npos)
      << daemon.last_error();
  EXPECT_EQ(daemon.runtime().Active()->version, 1u);
  // Still answering with version 1.
  EXPECT_TRUE(Runtime::InferOn(*daemon.runtime().Active(), torch::zeros({1, 1, 28, 28})));
  // Nothing unverified was left behind, and the device reports the problem.
  ExpectStoreVerified(state, 0);
  EXPECT_TRUE(WaitFor([&] { return DeviceReports("edge-1", "degraded", 1, "No space left"); }, 15));
  (*d)->Stop();
  loop.join();
}

}  // namespace
}  // namespace hadmc::edge
