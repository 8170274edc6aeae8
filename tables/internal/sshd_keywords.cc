#include "tables/internal/sshd_keywords.h"

#include <algorithm>
#include <iterator>

#include "tables/internal/text.h"

namespace vigil::tables::internal {
namespace {

struct SpelledKeyword {
  std::string_view spelled;  // lowercase, sorted: looked up by binary search
  SshdKeyword keyword;
};

// The keyword table of sshd 9.2p1 with Debian's additions (GSSAPI key exchange, DebianBanner).
// Kinds follow how each keyword stores its value: most keep the first value read; Port,
// HostKey, HostCertificate, ListenAddress, Subsystem, AcceptEnv and the Allow/Deny lists add
// every line; SetEnv, PermitOpen, PermitListen, AuthorizedKeysFile and AuthenticationMethods
// keep the first line's list. match_allowed and the ignored (deprecated or unsupported)
// keywords were checked against this sshd with `sshd -T`.
constexpr SshdKeywordKind kFirst = SshdKeywordKind::kFirstWins;
constexpr SshdKeywordKind kList = SshdKeywordKind::kAccumulates;
constexpr SshdKeywordKind kIgnore = SshdKeywordKind::kIgnored;
constexpr SshdKeywordKind kMatchLine = SshdKeywordKind::kMatch;
constexpr SshdKeywordKind kIncludeLine = SshdKeywordKind::kInclude;
constexpr bool kInMatch = true;
constexpr bool kGlobalOnly = false;

constexpr SpelledKeyword K(std::string_view name, SshdKeywordKind kind, bool match_allowed) {
  return {name, {name, kind, match_allowed}};
}
constexpr SpelledKeyword Alias(std::string_view spelled, std::string_view name,
                               SshdKeywordKind kind, bool match_allowed) {
  return {spelled, {name, kind, match_allowed}};
}

constexpr SpelledKeyword kKeywords[] = {
    K("acceptenv", kList, kInMatch),
    K("addressfamily", kFirst, kGlobalOnly),
    K("afstokenpassing", kIgnore, kGlobalOnly),
    K("allowagentforwarding", kFirst, kInMatch),
    K("allowgroups", kList, kInMatch),
    K("allowstreamlocalforwarding", kFirst, kInMatch),
    K("allowtcpforwarding", kFirst, kInMatch),
    K("allowusers", kList, kInMatch),
    K("authenticationmethods", kFirst, kInMatch),
    K("authorizedkeyscommand", kFirst, kInMatch),
    K("authorizedkeyscommanduser", kFirst, kInMatch),
    K("authorizedkeysfile", kFirst, kInMatch),
    K("authorizedkeysfile2", kIgnore, kInMatch),
    K("authorizedprincipalscommand", kFirst, kInMatch),
    K("authorizedprincipalscommanduser", kFirst, kInMatch),
    K("authorizedprincipalsfile", kFirst, kInMatch),
    K("banner", kFirst, kInMatch),
    K("casignaturealgorithms", kFirst, kInMatch),
    Alias("challengeresponseauthentication", "kbdinteractiveauthentication", kFirst, kInMatch),
    K("channeltimeout", kFirst, kInMatch),
    K("checkmail", kIgnore, kGlobalOnly),
    K("chrootdirectory", kFirst, kInMatch),
    K("ciphers", kFirst, kGlobalOnly),
    K("clientalivecountmax", kFirst, kInMatch),
    K("clientaliveinterval", kFirst, kInMatch),
    K("compression", kFirst, kGlobalOnly),
    K("debianbanner", kFirst, kGlobalOnly),
    K("denygroups", kList, kInMatch),
    K("denyusers", kList, kInMatch),
    K("disableforwarding", kFirst, kInMatch),
    Alias("dsaauthentication", "pubkeyauthentication", kFirst, kGlobalOnly),
    K("exposeauthinfo", kFirst, kInMatch),
    K("fingerprinthash", kFirst, kGlobalOnly),
    K("forcecommand", kFirst, kInMatch),
    K("gatewayports", kFirst, kInMatch),
    K("gssapiauthentication", kFirst, kInMatch),
    K("gssapicleanupcredentials", kFirst, kGlobalOnly),
    Alias("gssapicleanupcreds", "gssapicleanupcredentials", kFirst, kGlobalOnly),
    K("gssapikexalgorithms", kFirst, kGlobalOnly),
    K("gssapikeyexchange", kFirst, kGlobalOnly),
    K("gssapistorecredentialsonrekey", kFirst, kGlobalOnly),
    K("gssapistrictacceptorcheck", kFirst, kGlobalOnly),
    K("gssapiusesessioncredcache", kIgnore, kGlobalOnly),
    K("gssusesessionccache", kIgnore, kGlobalOnly),
    K("hostbasedacceptedalgorithms", kFirst, kInMatch),
    Alias("hostbasedacceptedkeytypes", "hostbasedacceptedalgorithms", kFirst, kInMatch),
    K("hostbasedauthentication", kFirst, kInMatch),
    K("hostbasedusesnamefrompacketonly", kFirst, kInMatch),
    K("hostcertificate", kList, kGlobalOnly),
    Alias("hostdsakey", "hostkey", kList, kGlobalOnly),
    K("hostkey", kList, kGlobalOnly),
    K("hostkeyagent", kFirst, kGlobalOnly),
    K("hostkeyalgorithms", kFirst, kGlobalOnly),
    K("ignorerhosts", kFirst, kInMatch),
    K("ignoreuserknownhosts", kFirst, kGlobalOnly),
    K("include", kIncludeLine, kInMatch),
    K("ipqos", kFirst, kInMatch),
    K("kbdinteractiveauthentication", kFirst, kInMatch),
    Alias("keepalive", "tcpkeepalive", kFirst, kGlobalOnly),
    K("kerberosauthentication", kFirst, kInMatch),
    K("kerberosgetafstoken", kIgnore, kGlobalOnly),
    K("kerberosorlocalpasswd", kFirst, kGlobalOnly),
    K("kerberostgtpassing", kIgnore, kGlobalOnly),
    K("kerberosticketcleanup", kFirst, kGlobalOnly),
    K("kexalgorithms", kFirst, kGlobalOnly),
    K("keyregenerationinterval", kIgnore, kGlobalOnly),
    K("listenaddress", kList, kGlobalOnly),
    K("logingracetime", kFirst, kGlobalOnly),
    K("loglevel", kFirst, kInMatch),
    K("logverbose", kFirst, kInMatch),
    K("macs", kFirst, kGlobalOnly),
    K("match", kMatchLine, kInMatch),
    K("maxauthtries", kFirst, kInMatch),
    K("maxsessions", kFirst, kInMatch),
    K("maxstartups", kFirst, kGlobalOnly),
    K("modulifile", kFirst, kGlobalOnly),
    K("pamauthenticationviakbdint", kIgnore, kGlobalOnly),
    K("passwordauthentication", kFirst, kInMatch),
    K("permitblacklistedkeys", kIgnore, kGlobalOnly),
    K("permitemptypasswords", kFirst, kInMatch),
    K("permitlisten", kFirst, kInMatch),
    K("permitopen", kFirst, kInMatch),
    K("permitrootlogin", kFirst, kInMatch),
    K("permittty", kFirst, kInMatch),
    K("permittunnel", kFirst, kInMatch),
    K("permituserenvironment", kFirst, kGlobalOnly),
    K("permituserrc", kFirst, kInMatch),
    K("persourcemaxstartups", kFirst, kGlobalOnly),
    K("persourcenetblocksize", kFirst, kGlobalOnly),
    K("pidfile", kFirst, kGlobalOnly),
    K("port", kList, kGlobalOnly),
    K("printlastlog", kFirst, kGlobalOnly),
    K("printmotd", kFirst, kGlobalOnly),
    K("protocol", kIgnore, kGlobalOnly),
    K("pubkeyacceptedalgorithms", kFirst, kInMatch),
    Alias("pubkeyacceptedkeytypes", "pubkeyacceptedalgorithms", kFirst, kInMatch),
    K("pubkeyauthentication", kFirst, kInMatch),
    K("pubkeyauthoptions", kFirst, kInMatch),
    K("rdomain", kFirst, kInMatch),
    K("rekeylimit", kFirst, kInMatch),
    K("requiredrsasize", kFirst, kInMatch),
    K("reversemappingcheck", kIgnore, kGlobalOnly),
    K("revokedkeys", kFirst, kInMatch),
    K("rhostsauthentication", kIgnore, kGlobalOnly),
    K("rhostsrsaauthentication", kIgnore, kInMatch),
    K("rsaauthentication", kIgnore, kInMatch),
    K("securitykeyprovider", kFirst, kGlobalOnly),
    K("serverkeybits", kIgnore, kGlobalOnly),
    K("setenv", kFirst, kInMatch),
    Alias("skeyauthentication", "kbdinteractiveauthentication", kFirst, kInMatch),
    K("streamlocalbindmask", kFirst, kInMatch),
    K("streamlocalbindunlink", kFirst, kInMatch),
    K("strictmodes", kFirst, kGlobalOnly),
    K("subsystem", kList, kGlobalOnly),
    K("syslogfacility", kFirst, kGlobalOnly),
    K("tcpkeepalive", kFirst, kGlobalOnly),
    K("trustedusercakeys", kFirst, kInMatch),
    K("unusedconnectiontimeout", kFirst, kInMatch),
    K("usedns", kFirst, kGlobalOnly),
    K("uselogin", kIgnore, kGlobalOnly),
    K("usepam", kFirst, kGlobalOnly),
    K("useprivilegeseparation", kIgnore, kGlobalOnly),
    K("verifyreversemapping", kIgnore, kGlobalOnly),
    K("versionaddendum", kFirst, kGlobalOnly),
    K("x11displayoffset", kFirst, kInMatch),
    K("x11forwarding", kFirst, kInMatch),
    K("x11uselocalhost", kFirst, kInMatch),
    K("xauthlocation", kFirst, kGlobalOnly),
};

static_assert(std::is_sorted(std::begin(kKeywords), std::end(kKeywords),
                             [](const SpelledKeyword& a, const SpelledKeyword& b) {
                               return a.spelled < b.spelled;
                             }));

constexpr SshdDefault kDefaults[] = {
    {"addressfamily", "any"},
    {"allowagentforwarding", "yes"},
    {"allowstreamlocalforwarding", "yes"},
    {"allowtcpforwarding", "yes"},
    {"authenticationmethods", "any"},
    {"authorizedkeyscommand", "none"},
    {"authorizedkeyscommanduser", "none"},
    {"authorizedkeysfile", ".ssh/authorized_keys .ssh/authorized_keys2"},
    {"authorizedprincipalscommand", "none"},
    {"authorizedprincipalscommanduser", "none"},
    {"authorizedprincipalsfile", "none"},
    {"banner", "none"},
    {"casignaturealgorithms",
     "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,"
     "sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,"
     "rsa-sha2-256"},
    {"chrootdirectory", "none"},
    {"ciphers",
     "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,"
     "aes128-gcm@openssh.com,aes256-gcm@openssh.com"},
    {"clientalivecountmax", "3"},
    {"clientaliveinterval", "0"},
    {"compression", "yes"},
    {"disableforwarding", "no"},
    {"exposeauthinfo", "no"},
    {"fingerprinthash", "SHA256"},
    {"forcecommand", "none"},
    {"gatewayports", "no"},
    {"gssapiauthentication", "no"},
    {"gssapicleanupcredentials", "yes"},
    {"gssapikexalgorithms",
     "gss-group14-sha256-,gss-group16-sha512-,gss-nistp256-sha256-,"
     "gss-curve25519-sha256-,gss-group14-sha1-,gss-gex-sha1-"},
    {"gssapikeyexchange", "no"},
    {"gssapistorecredentialsonrekey", "no"},
    {"gssapistrictacceptorcheck", "yes"},
    {"hostbasedacceptedalgorithms",
     "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,"
     "ecdsa-sha2-nistp384-cert-v01@openssh.com,"
     "ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,"
     "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,"
     "rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,"
     "ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,"
     "sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256"},
    {"hostbasedauthentication", "no"},
    {"hostbasedusesnamefrompacketonly", "no"},
    {"hostkey", "/etc/ssh/ssh_host_rsa_key"},
    {"hostkey", "/etc/ssh/ssh_host_ecdsa_key"},
    {"hostkey", "/etc/ssh/ssh_host_ed25519_key"},
    {"hostkeyagent", "none"},
    {"hostkeyalgorithms",
     "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,"
     "ecdsa-sha2-nistp384-cert-v01@openssh.com,"
     "ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,"
     "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,"
     "rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,"
     "ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,"
     "sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256"},
    {"ignorerhosts", "yes"},
    {"ignoreuserknownhosts", "no"},
    {"ipqos", "lowdelay throughput"},
    {"kbdinteractiveauthentication", "yes"},
    {"kerberosauthentication", "no"},
    {"kerberosorlocalpasswd", "yes"},
    {"kerberosticketcleanup", "yes"},
    {"kexalgorithms",
     "sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,"
     "curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,"
     "ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,"
     "diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,"
     "diffie-hellman-group14-sha256"},
    {"logingracetime", "120"},
    {"loglevel", "INFO"},
    {"macs",
     "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,"
     "hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,"
     "umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1"},
    {"maxauthtries", "6"},
    {"maxsessions", "10"},
    {"maxstartups", "10:30:100"},
    {"modulifile", "/etc/ssh/moduli"},
    {"passwordauthentication", "yes"},
    {"permitemptypasswords", "no"},
    {"permitlisten", "any"},
    {"permitopen", "any"},
    {"permitrootlogin", "without-password"},
    {"permittty", "yes"},
    {"permittunnel", "no"},
    {"permituserenvironment", "no"},
    {"permituserrc", "yes"},
    {"persourcemaxstartups", "none"},
    {"persourcenetblocksize", "32:128"},
    {"pidfile", "/run/sshd.pid"},
    {"port", "22"},
    {"printlastlog", "yes"},
    {"printmotd", "yes"},
    {"pubkeyacceptedalgorithms",
     "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,"
     "ecdsa-sha2-nistp384-cert-v01@openssh.com,"
     "ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,"
     "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,"
     "rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,"
     "ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,"
     "sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256"},
    {"pubkeyauthentication", "yes"},
    {"pubkeyauthoptions", "none"},
    {"rekeylimit", "0 0"},
    {"requiredrsasize", "1024"},
    {"revokedkeys", "none"},
    {"securitykeyprovider", "internal"},
    {"streamlocalbindmask", "0177"},
    {"streamlocalbindunlink", "no"},
    {"strictmodes", "yes"},
    {"syslogfacility", "AUTH"},
    {"tcpkeepalive", "yes"},
    {"trustedusercakeys", "none"},
    {"unusedconnectiontimeout", "none"},
    {"usedns", "no"},
    {"usepam", "no"},
    {"versionaddendum", "none"},
    {"x11displayoffset", "10"},
    {"x11forwarding", "no"},
    {"x11uselocalhost", "yes"},
    {"xauthlocation", "/usr/bin/xauth"},
    // sshd -T prints each listening socket ("0.0.0.0:22", "[::]:22"); without ListenAddress
    // sshd listens on every IPv4 and IPv6 address, on each Port.
    {"listenaddress", "0.0.0.0"},
    {"listenaddress", "::"},
};

}  // namespace

const SshdKeyword* FindSshdKeyword(std::string_view spelled) {
  const std::string lower = Lower(spelled);
  auto it = std::lower_bound(
      std::begin(kKeywords), std::end(kKeywords), lower,
      [](const SpelledKeyword& entry, const std::string& key) { return entry.spelled < key; });
  if (it == std::end(kKeywords) || it->spelled != lower) return nullptr;
  return &it->keyword;
}

std::span<const SshdDefault> SshdDefaults() { return kDefaults; }

}  // namespace vigil::tables::internal
