package egress_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beckonhealth/beckon/egress"
)

func TestPublic(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ip   string
		want bool
	}{
		{"127.0.0.1", false},
		{"127.1.2.3", false},
		{"::1", false},
		{"10.0.0.1", false},
		{"172.16.5.4", false},
		{"192.168.1.1", false},
		{"169.254.169.254", false}, // cloud metadata
		{"fe80::1", false},
		{"fe80::1%eth0", false},
		{"fc00::1", false},
		{"fd12:3456::1", false},
		{"0.0.0.0", false},
		{"0.1.2.3", false},
		{"::", false},
		{"224.0.0.1", false},
		{"239.255.255.250", false},
		{"ff02::1", false},
		{"255.255.255.255", false},
		{"100.64.0.1", false},      // CGNAT
		{"100.127.255.254", false}, // CGNAT
		{"192.0.2.10", false},
		{"198.18.0.1", false},
		{"240.0.0.1", false},
		{"::ffff:127.0.0.1", false},       // IPv4-mapped loopback
		{"::ffff:169.254.169.254", false}, // IPv4-mapped link-local
		{"::ffff:10.0.0.1", false},
		{"::127.0.0.1", false},        // IPv4-compatible
		{"64:ff9b::7f00:1", false},    // NAT64 of 127.0.0.1
		{"64:ff9b::a9fe:a9fe", false}, // NAT64 of 169.254.169.254
		{"64:ff9b:1::1", false},
		{"2002:7f00:1::1", false}, // 6to4 of 127.0.0.1
		{"2002:c0a8:101::1", false},
		{"2001:db8::1", false},
		{"2001::1", false}, // Teredo
		{"fec0::1", false},
		{"8.8.8.8", true},
		{"1.1.1.1", true},
		{"100.63.255.255", true},
		{"::ffff:8.8.8.8", true},
		{"2606:4700:4700::1111", true},
		{"64:ff9b::808:808", true}, // NAT64 of 8.8.8.8
		{"2002:808:808::1", true},
	} {
		ip := netip.MustParseAddr(tc.ip)
		if got := egress.Public(ip); got != tc.want {
			t.Errorf("Public(%s) = %v, want %v", tc.ip, got, tc.want)
		}
	}
}

func TestParsePolicy(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"10.0.0.0/33", "not a host", "ehr_.example/8", "-bad.example"} {
		if _, err := egress.ParsePolicy(bad); err == nil {
			t.Errorf("ParsePolicy(%q): no error", bad)
		}
	}
	for _, good := range []string{"", " ", "*", "10.0.0.0/8, fd00::/8", "127.0.0.1", "ehr.clinic.local,EHR2.Example."} {
		if _, err := egress.ParsePolicy(good); err != nil {
			t.Errorf("ParsePolicy(%q): %v", good, err)
		}
	}
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	none := mustPolicy(t, "")
	onPrem := mustPolicy(t, "10.1.0.0/16, ehr.clinic.lan, 127.0.0.1")
	all := mustPolicy(t, "*")
	for _, tc := range []struct {
		name   string
		p      egress.Policy
		url    string
		wantOK bool
	}{
		{"public https", none, "https://ehr.example.com/fhir", true},
		{"public https with port and query", none, "https://ehr.example.com:8443/fhir?tenant=a", true},
		{"public ip https", none, "https://8.8.8.8/fhir", true},
		{"plain http to the internet", none, "http://ehr.example.com/fhir", false},
		{"other scheme", none, "ftp://ehr.example.com/", false},
		{"file scheme", none, "file:///etc/passwd", false},
		{"gopher", none, "gopher://127.0.0.1:6379/_INFO", false},
		{"no host", none, "https:///fhir", false},
		{"relative", none, "/fhir", false},
		{"userinfo", none, "https://user:pass@ehr.example.com/", false},
		{"user only", none, "https://user@ehr.example.com/", false},
		{"loopback", none, "https://127.0.0.1/fhir", false},
		{"loopback other", none, "https://127.0.0.2:8080/", false},
		{"localhost", none, "https://localhost:8080/fhir", false},
		{"localhost subdomain", none, "https://ehr.localhost/fhir", false},
		{"link-local metadata", none, "https://169.254.169.254/latest/meta-data/", false},
		{"private 10", none, "https://10.0.0.5/fhir", false},
		{"private 192.168", none, "https://192.168.0.10/", false},
		{"cgnat", none, "https://100.64.1.1/", false},
		{"unspecified", none, "https://0.0.0.0:8080/", false},
		{"ipv6 loopback", none, "https://[::1]:8080/", false},
		{"ipv6 link-local with zone", none, "https://[fe80::1%25eth0]/", false},
		{"ipv6 ula", none, "https://[fd00::1]/", false},
		{"ipv4-mapped ipv6 loopback", none, "https://[::ffff:127.0.0.1]/", false},
		{"ipv4-mapped ipv6 metadata", none, "https://[::ffff:a9fe:a9fe]/", false},
		{"nat64 loopback", none, "https://[64:ff9b::7f00:1]/", false},
		{"multicast", none, "https://224.0.0.1/", false},
		{"bad host characters", none, "https://ehr$.example.com/", false},
		{"allowed cidr", onPrem, "http://10.1.2.3:8080/fhir", true},
		{"outside allowed cidr", onPrem, "https://10.2.0.1/fhir", false},
		{"allowed name over http", onPrem, "http://EHR.clinic.lan/fhir", true},
		{"allowed loopback ip", onPrem, "http://127.0.0.1:9000/fhir", true},
		{"other loopback ip", onPrem, "http://127.0.0.2:9000/fhir", false},
		{"still no userinfo", onPrem, "http://a:b@ehr.clinic.lan/", false},
		{"still no http to the internet", onPrem, "http://ehr.example.com/", false},
		{"star allows everything", all, "http://127.0.0.1:1/", true},
		{"star still wants a host", all, "http:///x", false},
	} {
		err := tc.p.CheckURL(tc.url)
		if (err == nil) != tc.wantOK {
			t.Errorf("%s: CheckURL(%q) = %v, want ok=%v", tc.name, tc.url, err, tc.wantOK)
		}
	}
}

func mustPolicy(t *testing.T, s string) egress.Policy {
	t.Helper()
	p, err := egress.ParsePolicy(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// countingListener is a loopback listener that records whether anything
// connected before the test's own sentinel connection.
type countingListener struct {
	ln net.Listener
}

func newCountingListener(t *testing.T) *countingListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return &countingListener{ln: ln}
}

func (c *countingListener) port() string {
	_, port, _ := net.SplitHostPort(c.ln.Addr().String())
	return port
}

// assertNoEarlierConnection dials the listener itself and checks that its own
// connection is the first the listener accepts: a connection the client
// under test had opened would be ahead of it in the accept queue.
func (c *countingListener) assertNoEarlierConnection(t *testing.T) {
	t.Helper()
	sentinel, err := net.Dial("tcp", c.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer sentinel.Close()
	_ = c.ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
	got, err := c.ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	if got.RemoteAddr().String() != sentinel.LocalAddr().String() {
		t.Fatalf("the listener was connected to from %s before the sentinel: the refused request connected", got.RemoteAddr())
	}
}

func TestClientRefusesInternalAddressesBeforeConnecting(t *testing.T) {
	t.Parallel()
	ln := newCountingListener(t)
	client := mustPolicy(t, "").Client(5*time.Second, nil)
	for _, u := range []string{
		"http://localhost:" + ln.port() + "/fhir/Patient/1", // a name that resolves to loopback
		"http://127.0.0.1:" + ln.port() + "/",
		"http://[::ffff:127.0.0.1]:" + ln.port() + "/",
		"https://localhost:" + ln.port() + "/",
	} {
		resp, err := client.Get(u)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("GET %s: got %d, want a refusal", u, resp.StatusCode)
		}
		if !errors.Is(err, egress.ErrRefused) {
			t.Errorf("GET %s: %v, want ErrRefused", u, err)
		}
	}
	ln.assertNoEarlierConnection(t)
}

func TestClientAllowList(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	for _, tc := range []struct{ policy, url string }{
		{"127.0.0.0/8", srv.URL},
		{"127.0.0.1", srv.URL},
		{"localhost", "http://localhost:" + port + "/"},
		{"*", srv.URL},
	} {
		resp, err := mustPolicy(t, tc.policy).Client(5*time.Second, nil).Get(tc.url)
		if err != nil {
			t.Fatalf("policy %q: GET %s: %v", tc.policy, tc.url, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != "ok" {
			t.Fatalf("policy %q: %d %q", tc.policy, resp.StatusCode, body)
		}
	}
	if got := hits.Load(); got != 4 {
		t.Fatalf("server hits = %d, want 4", got)
	}
	// An allow-list of another range does not let loopback through.
	ln := newCountingListener(t)
	if _, err := mustPolicy(t, "10.0.0.0/8, ehr.example").Client(5*time.Second, nil).Get("http://localhost:" + ln.port() + "/"); !errors.Is(err, egress.ErrRefused) {
		t.Fatalf("GET with another allow-list: %v, want ErrRefused", err)
	}
	ln.assertNoEarlierConnection(t)
}

func TestClientDoesNotFollowRedirects(t *testing.T) {
	t.Parallel()
	var targetHits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { targetHits.Add(1) }))
	t.Cleanup(target.Close)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/internal", http.StatusFound)
	}))
	t.Cleanup(redirector.Close)
	resp, err := mustPolicy(t, "127.0.0.1").Client(5*time.Second, nil).Get(redirector.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || targetHits.Load() != 0 {
		t.Fatalf("status %d, target hits %d: want the 302 itself and no request to the target", resp.StatusCode, targetHits.Load())
	}
}
