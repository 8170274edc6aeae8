#include "tables/internal/inet.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace vigil::tables::internal {
namespace {

std::optional<uint32_t> ParseHexWord(std::string_view hex) {
  uint32_t word = 0;
  if (hex.size() != 8) return std::nullopt;
  auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), word, 16);
  if (ec != std::errc() || end != hex.data() + hex.size()) return std::nullopt;
  return word;
}

uint32_t PrefixMaskHostOrder(int length) {
  if (length <= 0) return 0;
  if (length >= 32) return 0xffffffffu;
  return ~((1u << (32 - length)) - 1);
}

}  // namespace

std::optional<in_addr> ParseProcIpv4(std::string_view hex) {
  std::optional<uint32_t> word = ParseHexWord(hex);
  if (!word) return std::nullopt;
  in_addr address;
  std::memcpy(&address, &*word, sizeof(address));  // the word's bytes are the address bytes
  return address;
}

std::optional<in6_addr> ParseProcIpv6(std::string_view hex) {
  if (hex.size() != 32) return std::nullopt;
  in6_addr address;
  for (int i = 0; i < 4; ++i) {
    std::optional<uint32_t> word = ParseHexWord(hex.substr(i * 8, 8));
    if (!word) return std::nullopt;
    std::memcpy(address.s6_addr + i * 4, &*word, 4);
  }
  return address;
}

std::optional<in6_addr> ParseHexIpv6(std::string_view hex) {
  if (hex.size() != 32) return std::nullopt;
  in6_addr address;
  for (int i = 0; i < 16; ++i) {
    uint8_t byte = 0;
    const char* begin = hex.data() + i * 2;
    auto [end, ec] = std::from_chars(begin, begin + 2, byte, 16);
    if (ec != std::errc() || end != begin + 2) return std::nullopt;
    address.s6_addr[i] = byte;
  }
  return address;
}

std::string Ipv4Text(const in_addr& address) {
  char text[INET_ADDRSTRLEN];
  return ::inet_ntop(AF_INET, &address, text, sizeof(text)) != nullptr ? text : "";
}

std::string Ipv6Text(const in6_addr& address) {
  char text[INET6_ADDRSTRLEN];
  return ::inet_ntop(AF_INET6, &address, text, sizeof(text)) != nullptr ? text : "";
}

std::string Ipv4MaskText(int prefix_length) {
  in_addr mask;
  mask.s_addr = htonl(PrefixMaskHostOrder(prefix_length));
  return Ipv4Text(mask);
}

std::string Ipv6MaskText(int prefix_length) {
  in6_addr mask{};
  for (int i = 0; i < 16; ++i) {
    int bits = prefix_length - i * 8;
    if (bits >= 8) {
      mask.s6_addr[i] = 0xff;
    } else if (bits > 0) {
      mask.s6_addr[i] = static_cast<uint8_t>(0xff << (8 - bits));
    }
  }
  return Ipv6Text(mask);
}

std::optional<int> Ipv4PrefixLength(in_addr mask) {
  uint32_t bits = ntohl(mask.s_addr);
  int length = 0;
  while (length < 32 && (bits & (0x80000000u >> length)) != 0) ++length;
  if (bits != PrefixMaskHostOrder(length)) return std::nullopt;
  return length;
}

bool Ipv4InPrefix(in_addr address, in_addr prefix, int length) {
  uint32_t mask = PrefixMaskHostOrder(length);
  return (ntohl(address.s_addr) & mask) == (ntohl(prefix.s_addr) & mask);
}

bool IsIpv6LinkLocal(const in6_addr& address) {
  return address.s6_addr[0] == 0xfe && (address.s6_addr[1] & 0xc0) == 0x80;
}

}  // namespace vigil::tables::internal
