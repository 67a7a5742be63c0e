package api

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/beckonhealth/beckon/store/storetest"
)

// TestOpenAPIComplete walks the OpenAPI document: every plain route on the
// mux is in it, every operation declares its security (the public ones an
// empty list), and servers and licence are set.
func TestOpenAPIComplete(t *testing.T) {
	s := New(Config{Store: storetest.Open(t), ServerURL: "https://beckon.example.org"})
	raw, err := json.Marshal(s.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Info struct {
			License struct{ Name, Identifier string }
		}
		Servers    []struct{ URL string }
		Paths      map[string]map[string]map[string]any
		Components struct {
			SecuritySchemes map[string]any
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Info.License.Identifier != "Apache-2.0" {
		t.Errorf("info.license = %+v, want Apache-2.0", doc.Info.License)
	}
	if len(doc.Servers) == 0 || doc.Servers[0].URL != "https://beckon.example.org" {
		t.Errorf("servers = %+v, want the configured URL", doc.Servers)
	}

	var documented int
	for _, r := range s.plain {
		method, path, _ := strings.Cut(r.pattern, " ")
		if !r.documented {
			continue
		}
		documented++
		if doc.Paths[path][strings.ToLower(method)] == nil {
			t.Errorf("mux route %q is not in the OpenAPI document", r.pattern)
		}
	}
	if documented < 12 {
		t.Errorf("%d documented plain routes, want the feeds, webhooks and links (12)", documented)
	}

	var ops int
	for path, item := range doc.Paths {
		for method, o := range item {
			ops++
			sec, ok := o["security"].([]any)
			if !ok {
				t.Errorf("%s %s: no security declaration", method, path)
				continue
			}
			for _, req := range sec {
				for name := range req.(map[string]any) {
					if doc.Components.SecuritySchemes[name] == nil {
						t.Errorf("%s %s: security scheme %q is not declared", method, path, name)
					}
				}
			}
		}
	}
	if ops < 40 {
		t.Errorf("%d operations in the document, want every route", ops)
	}
}
