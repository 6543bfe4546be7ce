// Releasing models:
//   hadmc publish model.hmc --name N [--channel C [--percent P]] [--server URL]
//   hadmc versions N [--server URL] [--json]
//   hadmc rollout --name N --version V --channel C --percent P [--filter GLOB] [--server URL]
// Without --server they work on the local state directory (the one `hadmc serve` uses).
#include <chrono>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "fleet_options.h"
#include "hadmc/common/atomic_file.h"
#include "hadmc/server/publish_client.h"

namespace hadmc::cli {
namespace {

using nlohmann::json;

struct PublishOptions {
  std::string path, name, channel, state_dir;
  double percent = 100;
  uint64_t block_size = store::kDefaultBlockSize;
  RemoteOptions remote;
};

struct VersionsOptions {
  std::string name, state_dir;
  bool json = false;
  RemoteOptions remote;
};

struct RolloutOptions {
  std::string name, channel, filter, state_dir;
  uint64_t version = 0;
  double percent = 100;
  RemoteOptions remote;
};

json Rollout(const RolloutOptions& o) {
  const auto dir = OpenStateDir(o.state_dir);
  const registry::RolloutSpec spec{o.name, o.channel, o.version, o.percent, o.filter};
  if (o.remote.server.empty()) {
    auto reg = OpenRegistry(dir);
    auto r = reg->AddRollout(spec);
    if (!r) Fail(r.error().message());
    return {{"id", r->id}, {"version", r->version}, {"channel", r->channel}, {"percent", r->percent}};
  }
  std::string token;
  auto client = AdminClient(o.remote, dir, &token);
  const json body = {{"model", o.name},      {"channel", o.channel},
                     {"version", o.version}, {"percent", o.percent},
                     {"device_filter", o.filter}};
  auto headers = server::BearerHeaders(token);
  headers.push_back({"Content-Type", "application/json"});
  return CheckedJson(client->Request("POST", "/v1/rollouts", body.dump(), headers), 201,
                     "rollout");
}

void RunPublish(const PublishOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  const auto dir = OpenStateDir(o.state_dir);
  auto key = crypto::SigningKey::Load(dir.SigningKey());
  if (!key) Fail(key.error().message() + " (run `hadmc keys init`)");
  auto file = ReadFile(o.path);
  if (!file) Fail(file.error().message());
  Result<server::PublishResult> result = MakeError(Errc::kInternal, "not run");
  if (o.remote.server.empty()) {
    auto reg = OpenRegistry(dir);
    auto blocks = store::BlockStore::Open(dir.Store());
    if (!blocks) Fail(blocks.error().message());
    result = server::PublishLocal(*reg, *blocks, *file, o.name, o.block_size, *key);
  } else {
    std::string token;
    auto client = AdminClient(o.remote, dir, &token);
    result = server::PublishRemote(*client, token, *file, o.name, o.block_size, *key);
  }
  if (!result) Fail("publishing " + o.path + ": " + result.error().message());
  if (!result->missing.empty()) Fail("blocks went missing while publishing; try again");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "published " << o.name << " version " << result->version << " ("
            << result->file_size << " bytes, " << result->blocks << " blocks, manifest sha256 "
            << result->manifest_sha256.substr(0, 16) << "…) in " << seconds << " s\n";
  if (!o.channel.empty()) {
    RolloutOptions r{o.name, o.channel, "", o.state_dir, result->version, o.percent, o.remote};
    const json j = Rollout(r);
    std::cout << "rollout " << j["id"] << ": version " << result->version << " on '" << o.channel
              << "' at " << o.percent << "%\n";
  }
}

void RunVersions(const VersionsOptions& o) {
  const auto dir = OpenStateDir(o.state_dir);
  json versions = json::array();
  if (o.remote.server.empty()) {
    auto reg = OpenRegistry(dir);
    auto list = reg->ListVersions(o.name);
    if (!list) Fail(list.error().message());
    for (const auto& v : *list)
      versions.push_back({{"version", v.version}, {"parent", v.parent},
                          {"file_size", v.file_size}, {"created_at", v.created_at},
                          {"manifest_sha256", v.manifest_sha256}});
  } else {
    std::string token;
    auto client = AdminClient(o.remote, dir, &token);
    versions = CheckedJson(client->Request("GET", "/v1/models/" + o.name + "/versions", "",
                                           server::BearerHeaders(token)),
                           200, "listing versions")["versions"];
  }
  if (o.json) {
    std::cout << json{{"model", o.name}, {"versions", versions}}.dump(2) << "\n";
    return;
  }
  if (versions.empty()) std::cout << "no versions of " << o.name << "\n";
  for (const auto& v : versions)
    std::cout << "v" << v["version"].get<uint64_t>() << "  parent " << v["parent"] << "  "
              << v["file_size"] << " bytes  " << v["created_at"].get<std::string>() << "  "
              << v["manifest_sha256"].get<std::string>().substr(0, 16) << "\n";
}

}  // namespace

void RegisterPublish(CLI::App& app, const GlobalOptions& g) {
  auto o = std::make_shared<PublishOptions>();
  CLI::App* cmd = app.add_subcommand(
      "publish", "Split a .hmc into SHA256 blocks, sign its manifest and publish a new version");
  cmd->add_option("model", o->path, ".hmc model file")->required()->check(CLI::ExistingFile);
  cmd->add_option("--name", o->name, "model name")->required();
  cmd->add_option("--channel", o->channel, "also roll the version out on this channel");
  cmd->add_option("--percent", o->percent, "rollout percentage with --channel (default 100)")
      ->check(CLI::Range(0.0, 100.0));
  cmd->add_option("--block-size", o->block_size, "block size in bytes (default 262144)")
      ->check(CLI::Range(uint64_t{4096}, uint64_t{64} << 20));
  AddStateDirOption(cmd, o->state_dir);
  AddRemoteOptions(cmd, o->remote);
  cmd->callback([o, &g] {
    ApplyGlobalOptions(g);
    RunPublish(*o);
  });

  auto v = std::make_shared<VersionsOptions>();
  CLI::App* versions = app.add_subcommand("versions", "List the published versions of a model");
  versions->add_option("name", v->name, "model name")->required();
  versions->add_flag("--json", v->json, "print JSON");
  AddStateDirOption(versions, v->state_dir);
  AddRemoteOptions(versions, v->remote);
  versions->callback([v, &g] {
    ApplyGlobalOptions(g);
    RunVersions(*v);
  });

  auto r = std::make_shared<RolloutOptions>();
  CLI::App* rollout = app.add_subcommand(
      "rollout", "Roll a version out on a channel to a percentage of devices (newest wins)");
  rollout->add_option("--name", r->name, "model name")->required();
  rollout->add_option("--version", r->version, "published version")->required();
  rollout->add_option("--channel", r->channel, "channel, e.g. stable or canary")->required();
  rollout->add_option("--percent", r->percent, "percentage of devices (default 100)")
      ->check(CLI::Range(0.0, 100.0));
  rollout->add_option("--filter", r->filter, "only device ids matching this glob, e.g. 'lab-*'");
  AddStateDirOption(rollout, r->state_dir);
  AddRemoteOptions(rollout, r->remote);
  rollout->callback([r, &g] {
    ApplyGlobalOptions(g);
    const json j = Rollout(*r);
    std::cout << "rollout " << j["id"] << ": " << r->name << " version " << r->version << " on '"
              << r->channel << "' at " << r->percent << "%\n";
  });
}

}  // namespace hadmc::cli
