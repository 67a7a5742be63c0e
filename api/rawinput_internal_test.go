package api

import (
	"encoding/json"
	"testing"
)

func TestScanJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		raw, field string
	}{
		{`{"a":1,"b":[{"c":"x"},{"c":"y","C":"z"}]}`, "b[1].C"},
		{`[{"k":1},{"k":1,"K":2}]`, "[1].K"},
		{`{"a":{"b":[[1],[2,"\u0000"]]}}`, "a.b[1][1]"},
		{`{"a":[],"b":{},"c":{"d":"ok","e":"\ud83d"}}`, "c.e"},
		{`{"Kelvin":1,"kelvin":2}`, "kelvin"},
		{"{\"a\":\"\xc3\x28\"}", "a"},
		{`{"a":"ok","b":"\ud83d\ude00 \ufffd �"}`, ""},
		{`{"a":1,"a":2}`, "a"},
		{`{"a":`, ""}, // not JSON: the decoder answers
	} {
		p := scanJSON([]byte(tc.raw), true)
		got := ""
		if p != nil {
			got = p.field
			if got == "" {
				got = "(top)"
			}
		}
		if got != tc.field {
			t.Errorf("scanJSON(%s) = %q (%+v), want %q", tc.raw, got, p, tc.field)
		}
	}
}

// FuzzScanJSON: the scan never panics, and a document it accepts has no key
// repeated in any case at the top level.
func FuzzScanJSON(f *testing.F) {
	f.Add([]byte(`{"first_name":"A","First_Name":"B"}`))
	f.Add([]byte(`{"a":[{"b":"\u0000"}]}`))
	f.Add([]byte(`[1,{"x":{"y":[]}}]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if scanJSON(raw, true) != nil {
			return
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			return
		}
		seen := map[string]bool{}
		for k := range m {
			if seen[foldKey(k)] {
				t.Fatalf("accepted %q with the key %q twice", raw, k)
			}
			seen[foldKey(k)] = true
		}
	})
}
