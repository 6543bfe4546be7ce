#include <gtest/gtest.h>

#include "hadmc/crypto/certificates.h"
#include "hadmc/crypto/sha256.h"
#include "hadmc/crypto/signing_key.h"
#include "store_test_util.h"

namespace hadmc::crypto {
namespace {

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256Hasher h;
  h.Update("a");
  h.Update("bc");
  EXPECT_EQ(ToHex(h.Final()), Sha256Hex("abc"));
}

TEST(Sha256Test, IdShape) {
  EXPECT_TRUE(IsSha256Hex(Sha256Hex("x")));
  EXPECT_FALSE(IsSha256Hex(Sha256Hex("x").substr(1)));  // 63 chars
  EXPECT_FALSE(IsSha256Hex("../" + Sha256Hex("x").substr(3)));
  std::string upper = Sha256Hex("x");
  for (auto& c : upper) c = static_cast<char>(std::toupper(c));
  EXPECT_FALSE(IsSha256Hex(upper));
  EXPECT_FALSE(IsSha256Hex(std::string(63, 'a') + "g"));
}

TEST(Sha256Test, HexRoundTrip) {
  auto bytes = FromHex("00ff10");
  ASSERT_TRUE(bytes);
  EXPECT_EQ(*bytes, std::string("\x00\xff\x10", 3));
  EXPECT_FALSE(FromHex("abc"));
  EXPECT_FALSE(FromHex("zz"));
}

TEST(SigningKeyTest, SignVerifyAndReject) {
  auto key = SigningKey::Generate();
  ASSERT_TRUE(key) << key.error().String();
  auto sig = key->Sign("manifest bytes");
  ASSERT_TRUE(sig);
  EXPECT_EQ(sig->size(), 64u);
  EXPECT_TRUE(key->Public().Verify("manifest bytes", *sig));
  EXPECT_FALSE(key->Public().Verify("manifest bytez", *sig));
  std::string bad = *sig;
  bad[10] ^= 1;
  EXPECT_FALSE(key->Public().Verify("manifest bytes", bad));
  auto other = SigningKey::Generate();
  EXPECT_FALSE(other->Public().Verify("manifest bytes", *sig));
  EXPECT_NE(other->Public().KeyId(), key->Public().KeyId());
}

TEST(SigningKeyTest, SaveLoadRefusesOverwrite) {
  testing::ScratchDir dir;
  auto key = SigningKey::Generate();
  ASSERT_TRUE(key->Save(dir / "k.pem"));
  EXPECT_FALSE(key->Save(dir / "k.pem"));
  auto loaded = SigningKey::Load(dir / "k.pem");
  ASSERT_TRUE(loaded) << loaded.error().String();
  EXPECT_EQ(loaded->Public().KeyId(), key->Public().KeyId());
  auto pub = VerifyKey::FromPem(key->Public().Pem());
  ASSERT_TRUE(pub);
  EXPECT_TRUE(pub->Verify("m", *loaded->Sign("m")));
  EXPECT_FALSE(VerifyKey::FromPem("not a key"));
}

TEST(CertificatesTest, IssueDeviceCertificate) {
  auto ca = CreateCa("test fleet CA");
  ASSERT_TRUE(ca) << ca.error().String();
  auto dev = IssueCertificate(*ca, {"edge-0001", CertRole::kClient, {}, {}, 30});
  ASSERT_TRUE(dev) << dev.error().String();
  auto cn = CertificateCommonName(dev->cert_pem);
  ASSERT_TRUE(cn);
  EXPECT_EQ(*cn, "edge-0001");
  auto other = CreateCa("other");
  KeyAndCert mismatched{other->key_pem, ca->cert_pem};
  EXPECT_FALSE(IssueCertificate(mismatched, {"x", CertRole::kClient, {}, {}, 1}));
}

TEST(CertificatesTest, DeviceIds) {
  EXPECT_TRUE(IsValidDeviceId("jetson-orin_01.lab"));
  EXPECT_FALSE(IsValidDeviceId(""));
  EXPECT_FALSE(IsValidDeviceId("../etc"));
  EXPECT_FALSE(IsValidDeviceId("a/b"));
  EXPECT_FALSE(IsValidDeviceId(std::string(65, 'a')));
}

}  // namespace
}  // namespace hadmc::crypto
