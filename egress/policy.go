// Package egress decides which destinations Beckon may call on a clinic's
// behalf (its FHIR base, its webhook) and builds the one HTTP client that
// makes those calls. A clinic sets these URLs itself, so without a guard it
// could make Beckon call addresses inside Beckon's own network (SSRF): the
// client checks the IP address of every connection it opens, after DNS
// resolution, and refuses internal ones unless the installation allows them.
package egress

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ErrRefused is returned (wrapped) when a destination is not allowed.
var ErrRefused = errors.New("egress: destination not allowed")

// Policy is the installation's allow-list of internal destinations. The zero
// Policy allows only public addresses, over https.
type Policy struct {
	any   bool
	nets  []netip.Prefix
	hosts map[string]bool
}

// ParsePolicy reads an allow-list (BECKON_ALLOW_PRIVATE_HOSTS): empty allows
// no internal destination; "*" allows every destination; otherwise a comma
// list of CIDRs (10.0.0.0/8, fd00::/8), IP addresses and host names (an
// on-premises EHR's name, matched exactly, case-insensitively). A host
// allowed by name may resolve to any address.
func ParsePolicy(s string) (Policy, error) {
	var p Policy
	for _, item := range strings.Split(s, ",") {
		item = strings.ToLower(strings.TrimSpace(item))
		switch {
		case item == "":
			continue
		case item == "*":
			p.any = true
		case strings.Contains(item, "/"):
			pfx, err := netip.ParsePrefix(item)
			if err != nil {
				return Policy{}, fmt.Errorf("allowed private hosts: %q is not a CIDR", item)
			}
			p.nets = append(p.nets, pfx.Masked())
		default:
			if ip, err := netip.ParseAddr(item); err == nil {
				p.nets = append(p.nets, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
				continue
			}
			if !validHostName(item) {
				return Policy{}, fmt.Errorf("allowed private hosts: %q is not a CIDR, an IP address or a host name", item)
			}
			if p.hosts == nil {
				p.hosts = map[string]bool{}
			}
			p.hosts[strings.TrimSuffix(item, ".")] = true
		}
	}
	return p, nil
}

// validHostName reports whether s is a DNS name (letters, digits, '-', '.').
func validHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

// hostAllowed reports whether host (a name, lower case) is allow-listed by name.
func (p Policy) hostAllowed(host string) bool {
	return p.any || p.hosts[strings.TrimSuffix(strings.ToLower(host), ".")]
}

// ipAllowed reports whether Beckon may connect to ip: a public address, or
// one inside an allowed CIDR.
func (p Policy) ipAllowed(ip netip.Addr) bool {
	return p.any || Public(ip) || p.inNets(ip)
}

// nonPublic are the ranges Public refuses beyond what netip classifies:
// shared (CGNAT), "this network", protocol assignments, documentation,
// benchmarking, reserved, and IPv6 forms that reach IPv4 or nowhere.
var nonPublic = func() []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",       // "this network"
		"100.64.0.0/10",   // shared address space (carrier-grade NAT)
		"192.0.0.0/24",    // IETF protocol assignments
		"192.0.2.0/24",    // documentation (TEST-NET-1)
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // documentation (TEST-NET-2)
		"203.0.113.0/24",  // documentation (TEST-NET-3)
		"240.0.0.0/4",     // reserved, and the broadcast address
		"::/96",           // IPv4-compatible (deprecated)
		"100::/64",        // discard-only
		"2001::/23",       // IETF protocol assignments (Teredo, ORCHID, …)
		"2001:db8::/32",   // documentation
		"64:ff9b:1::/48",  // local-use NAT64 (the IPv4 address's place varies)
		"fec0::/10",       // site-local (deprecated)
	} {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}()

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96") // well-known NAT64: the IPv4 address is the last 32 bits
	sixToFour = netip.MustParsePrefix("2002::/16")    // 6to4: the IPv4 address is bits 16–47
)

// Public reports whether ip is a public unicast address: not loopback,
// private, link-local, unspecified, multicast, shared (CGNAT), reserved or
// documentation space, and not an IPv6 form (IPv4-mapped, NAT64, 6to4) of
// such an IPv4 address.
func Public(ip netip.Addr) bool {
	ip = ip.Unmap().WithZone("")
	if !ip.IsValid() || !ip.IsGlobalUnicast() || ip.IsPrivate() {
		return false
	}
	for _, n := range nonPublic {
		if n.Contains(ip) {
			return false
		}
	}
	if ip.Is6() {
		b := ip.As16()
		if nat64.Contains(ip) {
			return Public(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
		}
		if sixToFour.Contains(ip) {
			return Public(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
		}
	}
	return true
}
