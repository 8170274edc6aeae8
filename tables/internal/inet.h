// IP addresses as the kernel prints them in /proc and as tables show them. Shared by the
// network tables (sockets, routes, interface addresses).
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vigil::tables::internal {

// An address in the kernel's /proc/net/{tcp,udp,route,...} form: eight hex digits printing the
// 32-bit word that holds the address in network byte order, as a number of this machine
// ("0100007F" is 127.0.0.1 on a little-endian host).
std::optional<in_addr> ParseProcIpv4(std::string_view hex);
// /proc/net/{tcp6,udp6,...}: the 16 bytes as four such words.
std::optional<in6_addr> ParseProcIpv6(std::string_view hex);
// /proc/net/{if_inet6,ipv6_route}: the 16 bytes in order, two hex digits each.
std::optional<in6_addr> ParseHexIpv6(std::string_view hex);

// Numeric text as inet_ntop writes it: "192.0.2.1", "fd00::1".
std::string Ipv4Text(const in_addr& address);
std::string Ipv6Text(const in6_addr& address);

// The netmask of a prefix length: 24 -> "255.255.255.0", 64 -> "ffff:ffff:ffff:ffff::".
std::string Ipv4MaskText(int prefix_length);
std::string Ipv6MaskText(int prefix_length);
// The prefix length of a contiguous mask in network byte order (255.255.255.0 -> 24); nullopt
// when the mask has holes.
std::optional<int> Ipv4PrefixLength(in_addr mask);

// Whether `address` lies in prefix/length.
bool Ipv4InPrefix(in_addr address, in_addr prefix, int length);

// A link-local IPv6 address (fe80::/10), which needs its interface to be usable.
bool IsIpv6LinkLocal(const in6_addr& address);

}  // namespace vigil::tables::internal
