// Key material and credentials:
//   hadmc keys init                     Ed25519 manifest signing key
//   hadmc ca init                       fleet CA
//   hadmc ca issue-device ID [--class]  a device client certificate (mTLS), device registered
//   hadmc token create [--name]         an admin bearer token (only its SHA256 is stored)
#include <iostream>
#include <memory>

#include "commands.h"
#include "fleet_options.h"
#include "hadmc/server/bootstrap.h"

namespace hadmc::cli {
namespace {

struct KeysOptions {
  std::string state_dir;
};

struct CaOptions {
  std::string state_dir;
  std::string device_id;
  std::string device_class;
  int days = 825;
};

struct TokenOptions {
  std::string state_dir;
  std::string name = "admin";
};

}  // namespace

void RegisterKeys(CLI::App& app, const GlobalOptions& g) {
  auto o = std::make_shared<KeysOptions>();
  CLI::App* keys = app.add_subcommand("keys", "Manifest signing keys");
  keys->require_subcommand(1);
  CLI::App* init = keys->add_subcommand("init", "Create the Ed25519 signing key pair");
  AddStateDirOption(init, o->state_dir);
  init->callback([o, &g] {
    ApplyGlobalOptions(g);
    const auto dir = OpenStateDir(o->state_dir);
    auto key = server::InitSigningKey(dir);
    if (!key) Fail(key.error().message());
    std::cout << "signing key " << dir.SigningKey() << " (key id " << key->Public().KeyId()
              << ")\npublic key  " << dir.PublicKey()
              << "  <- give this to the server (publisher_keys) and to devices\n";
  });
}

void RegisterCa(CLI::App& app, const GlobalOptions& g) {
  auto o = std::make_shared<CaOptions>();
  CLI::App* ca = app.add_subcommand("ca", "Fleet certificate authority");
  ca->require_subcommand(1);
  CLI::App* init = ca->add_subcommand("init", "Create the fleet CA (ECDSA P-256, 10 years)");
  AddStateDirOption(init, o->state_dir);
  init->callback([o, &g] {
    ApplyGlobalOptions(g);
    const auto dir = OpenStateDir(o->state_dir);
    if (auto s = server::InitCa(dir); !s) Fail(s.error().message());
    std::cout << "fleet CA " << dir.CaCert() << " (key " << dir.CaKey() << ", keep it private)\n";
  });
  CLI::App* issue = ca->add_subcommand("issue-device", "Issue a client certificate for a device");
  issue->add_option("id", o->device_id, "device id (the certificate's CN)")->required();
  issue->add_option("--class", o->device_class, "device class, e.g. jetson_orin, x86_cpu");
  issue->add_option("--days", o->days, "validity in days")->check(CLI::PositiveNumber);
  AddStateDirOption(issue, o->state_dir);
  issue->callback([o, &g] {
    ApplyGlobalOptions(g);
    const auto dir = OpenStateDir(o->state_dir);
    auto reg = OpenRegistry(dir);
    if (auto s = server::IssueDeviceCertificate(dir, *reg, o->device_id, o->device_class, o->days);
        !s)
      Fail(s.error().message());
    std::cout << "device " << o->device_id << "\n  certificate " << dir.DeviceCert(o->device_id)
              << "\n  key         " << dir.DeviceKey(o->device_id) << "\n  CA          "
              << dir.CaCert() << "\ncopy all three to the device (/etc/hadmc/)\n";
  });
}

void RegisterToken(CLI::App& app, const GlobalOptions& g) {
  auto o = std::make_shared<TokenOptions>();
  CLI::App* token = app.add_subcommand("token", "Admin API tokens");
  token->require_subcommand(1);
  CLI::App* create = token->add_subcommand("create", "Create an admin token and print it once");
  create->add_option("--name", o->name, "a label for the token");
  AddStateDirOption(create, o->state_dir);
  create->callback([o, &g] {
    ApplyGlobalOptions(g);
    const auto dir = OpenStateDir(o->state_dir);
    auto reg = OpenRegistry(dir);
    auto t = server::CreateAdminToken(*reg, o->name);
    if (!t) Fail(t.error().message());
    std::cout << *t << "\n";
    std::cerr << "only its SHA256 is stored; keep the token (e.g. export HADMC_TOKEN=...)\n";
  });
}

}  // namespace hadmc::cli
