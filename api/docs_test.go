package api_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// attrRE finds an HTML attribute with a quoted value.
var attrRE = regexp.MustCompile(`(?i)\s([a-z][a-z0-9-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')`)

// TestDocsLoadNothingFromElsewhere: /docs references only its own origin
// (every src, href and URL-valued attribute is a path), and each asset it
// references is served here with its content type.
func TestDocsLoadNothingFromElsewhere(t *testing.T) {
	b := setup(t)
	resp, err := http.Get(b.srv.URL + "/docs")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("/docs: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "http") {
		t.Errorf("/docs CSP %q: want scripts from 'self' only", csp)
	}
	wantType := map[string]string{"script": "text/javascript", "link": "text/css"}
	var assets int
	for _, m := range attrRE.FindAllStringSubmatch(string(page), -1) {
		name, val := strings.ToLower(m[1]), m[2]+m[3]
		if strings.Contains(val, "//") || strings.Contains(strings.ToLower(val), "javascript:") {
			t.Errorf("attribute %s=%q names another origin", name, val)
		}
		if name != "src" && name != "href" && !strings.HasSuffix(name, "url") {
			continue
		}
		u, err := url.Parse(val)
		if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(u.Path, "/") {
			t.Errorf("attribute %s=%q is not a path on this origin", name, val)
			continue
		}
		if name == "src" || name == "href" {
			assets++
		}
		r, err := http.Get(b.srv.URL + val)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != http.StatusOK || len(body) < 1000 {
			t.Errorf("GET %s: %d, %d bytes", val, r.StatusCode, len(body))
		}
		ct := r.Header.Get("Content-Type")
		switch {
		case strings.HasSuffix(val, ".js") && !strings.HasPrefix(ct, wantType["script"]),
			strings.HasSuffix(val, ".css") && !strings.HasPrefix(ct, wantType["link"]),
			strings.HasSuffix(val, ".yaml") && !strings.Contains(ct, "yaml"):
			t.Errorf("GET %s: Content-Type %q", val, ct)
		}
		if r.Header.Get("X-Content-Type-Options") != "nosniff" && (strings.HasSuffix(val, ".js") || strings.HasSuffix(val, ".css")) {
			t.Errorf("GET %s: no nosniff", val)
		}
	}
	if assets < 2 {
		t.Fatalf("/docs references %d assets, want the script and the stylesheet:\n%s", assets, page)
	}
}

// TestDocsAssetUnknown: a name that is not an embedded asset is a 404 in the
// API's error shape, not a directory listing or another file.
func TestDocsAssetUnknown(t *testing.T) {
	b := setup(t)
	for _, p := range []string{"/docs/assets/LICENSE", "/docs/assets/", "/docs/assets/web-components.min.js"} {
		code, out := b.do("", http.MethodGet, p, nil)
		if code != http.StatusNotFound || out["status"] == nil {
			t.Errorf("GET %s: %d %v, want 404 problem JSON", p, code, out)
		}
	}
}
