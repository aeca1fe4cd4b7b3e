// SHA-256 (OpenSSL) as lower-case hex.
#ifndef RINGFENCE_SRC_BASE_SHA256_H_
#define RINGFENCE_SRC_BASE_SHA256_H_

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>

namespace ringfence::internal {

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest Sha256(std::span<const uint8_t> data);
// The digest of the concatenation of `parts`, without copying them.
Sha256Digest Sha256(std::initializer_list<std::span<const uint8_t>> parts);
std::string HexOf(std::span<const uint8_t> bytes);
// "sha256:<hex>", the form a module descriptor names a hash in.
std::string Sha256Text(std::span<const uint8_t> data);

}  // namespace ringfence::internal

#endif  // RINGFENCE_SRC_BASE_SHA256_H_
