package app

import (
	"net"
	"testing"
)

func TestBuildInfoString(t *testing.T) {
	for _, c := range []struct {
		b    BuildInfo
		want string
	}{
		{BuildInfo{Version: "(devel)"}, "(devel)"},
		{BuildInfo{Version: "v1.2.3", Revision: "0123456789abcdef0123"}, "v1.2.3 (0123456789ab)"},
		{BuildInfo{Version: "(devel)", Revision: "0123456789abcdef0123+dirty"}, "(devel) (0123456789ab+dirty)"},
	} {
		if got := c.b.String(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.b, got, c.want)
		}
	}
	if b := ReadBuildInfo(); b.Version == "" || b.Go == "" {
		t.Errorf("ReadBuildInfo() = %+v: want the module version and toolchain", b)
	}
}

func TestListenURL(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080",
		"0.0.0.0:80":     "http://localhost:80",
		"[::]:8080":      "http://localhost:8080",
		"[::1]:9000":     "http://[::1]:9000",
	} {
		a, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := listenURL(a); got != want {
			t.Errorf("listenURL(%s) = %q, want %q", addr, got, want)
		}
	}
}
