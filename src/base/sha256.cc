#include "src/base/sha256.h"

#include <openssl/evp.h>

#include "ringfence/status.h"

namespace ringfence::internal {

Sha256Digest Sha256(std::span<const uint8_t> data) {
  Sha256Digest digest;
  unsigned int length = 0;
  RF_CHECK(EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr) == 1);
  RF_CHECK(length == digest.size());
  return digest;
}

Sha256Digest Sha256(std::initializer_list<std::span<const uint8_t>> parts) {
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  RF_CHECK(context != nullptr);
  RF_CHECK(EVP_DigestInit_ex(context, EVP_sha256(), nullptr) == 1);
  for (std::span<const uint8_t> part : parts) {
    RF_CHECK(EVP_DigestUpdate(context, part.data(), part.size()) == 1);
  }
  Sha256Digest digest;
  unsigned int length = 0;
  RF_CHECK(EVP_DigestFinal_ex(context, digest.data(), &length) == 1);
  EVP_MD_CTX_free(context);
  RF_CHECK(length == digest.size());
  return digest;
}

std::string HexOf(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  text.reserve(bytes.size() * 2);
  for (uint8_t byte : bytes) {
    text += kDigits[byte >> 4];
    text += kDigits[byte & 15];
  }
  return text;
}

std::string Sha256Text(std::span<const uint8_t> data) { return "sha256:" + HexOf(Sha256(data)); }

}  // namespace ringfence::internal
