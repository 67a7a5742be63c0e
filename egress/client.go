package egress

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// Client returns the HTTP client for calls to URLs a clinic has set. Before
// each connection is opened, after DNS resolution, its address is checked
// against the policy (a host allowed by name may be at any address); a
// refused connection is never attempted and the request fails with an error
// wrapping ErrRefused. Redirects are not followed (the 3xx is the answer), no
// proxy from the environment is used (the check is of the real
// destination), and timeout bounds each whole request. Refusals are logged
// (the address only) to logger, if not nil, for the operator; what the
// clinic is told is up to the caller, which should not distinguish a refusal
// from a destination that does not answer.
func (p Policy) Client(timeout time.Duration, logger *slog.Logger) *http.Client {
	g := guard{p: p, logger: logger}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           g.dialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          100,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// guard dials for the client.
type guard struct {
	p      Policy
	logger *slog.Logger
}

// dialContext dials addr ("host:port") with a Control function that checks
// every address the dialer tries (each of a name's A and AAAA records).
func (g guard) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRefused, err)
	}
	byName := g.p.hostAllowed(host)
	d := net.Dialer{
		Timeout:   10 * time.Second,
		KeepAlive: 30 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			if byName {
				return nil
			}
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !g.p.ipAllowed(ap.Addr()) {
				if g.logger != nil {
					g.logger.Warn("egress: connection to an internal address refused; list it in BECKON_ALLOW_PRIVATE_HOSTS to allow it",
						slog.String("component", "egress"), slog.String("address", address))
				}
				return ErrRefused
			}
			return nil
		},
	}
	return d.DialContext(ctx, network, addr)
}
