package egress

import (
	"errors"
	"net/netip"
	"net/url"
	"strings"
)

// CheckURL validates a URL a clinic sets (its FHIR base, its webhook) when it
// is saved: http or https, a host, no user name or password (credentials go
// in their own write-only setting), and a host that is not internal unless
// the policy allows it. Plain http is allowed only for hosts the policy
// allows (an on-premises EHR); anything reached over the internet must use
// https. A host name is not resolved here: the client checks the address of
// every connection when it is made.
//
// The error says what is wrong with the URL, for the person who typed it.
func (p Policy) CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("is not a valid URL")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return errors.New("must be an https URL")
	}
	if u.User != nil {
		return errors.New("must not contain a user name or password (use the authorization setting)")
	}
	host := u.Hostname()
	if host == "" {
		return errors.New("must name a host")
	}
	allowed := false
	if ip, err := netip.ParseAddr(host); err == nil {
		if !p.ipAllowed(ip) {
			return errors.New("must not point at a private, loopback, link-local or otherwise internal address")
		}
		allowed = p.any || p.inNets(ip)
	} else {
		name := strings.TrimSuffix(strings.ToLower(host), ".")
		if !validHostName(name) {
			return errors.New("must name a host (letters, digits, '-' and '.')")
		}
		allowed = p.hostAllowed(name)
		if !allowed && (name == "localhost" || strings.HasSuffix(name, ".localhost")) {
			return errors.New("must not point at a private, loopback, link-local or otherwise internal address")
		}
	}
	if scheme == "http" && !allowed {
		return errors.New("must be an https URL (plain http only for on-premises hosts the installation allows)")
	}
	return nil
}

// inNets reports whether ip is inside an allowed CIDR.
func (p Policy) inNets(ip netip.Addr) bool {
	ip = ip.Unmap().WithZone("")
	for _, n := range p.nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}
