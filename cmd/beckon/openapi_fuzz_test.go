package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/beckonhealth/beckon/api"
)

// TestOpenAPIFuzz is a schema-driven fuzz of the REST API, run against the
// real program on each backend: for every operation of /openapi.json it sends
// requests generated from the operation's schemas (path, query, body), valid
// ones (examples, enums, lengths and bounds respected) and invalid ones
// (wrong types, nulls, extra and case-repeated keys, boundary and huge
// lengths, huge numbers, unicode, NUL, bytes that are not UTF-8, times out
// of range, unclean paths), with a valid key, and asserts that no answer is
// a 5xx, that every status is documented for the operation, and that every
// body validates against the documented schema (JSON Schema 2020-12, formats
// asserted).
//
// BECKON_FUZZ_SEED picks the seed (default 1) and BECKON_FUZZ_RUNS the
// requests per operation (default 100); a failure prints the request.
func TestOpenAPIFuzz(t *testing.T) {
	seed := envInt("BECKON_FUZZ_SEED", 1)
	runs := envInt("BECKON_FUZZ_RUNS", 100)
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			a := startApp(t, backend)
			a.mustCall(http.StatusOK, http.MethodPut, "/v1/clinic", map[string]any{"name": "Fuzz", "time_zone": "America/New_York"}, nil)
			a.mustCall(http.StatusCreated, http.MethodPut, "/v1/campaigns/reminders", map[string]any{"name": "R", "steps": []any{
				map[string]any{"id": "sms-24h", "offset": "-24h", "channel": "sms", "template": "appointment_reminder"},
				map[string]any{"id": "after", "offset": "+2h", "channel": "email", "template": "appointment_followup"},
			}}, nil)
			a.mustCall(http.StatusCreated, http.MethodPut, "/v1/patients/p-1001", map[string]any{"first_name": "Ana", "phone": "+14155550123", "email": "ana@example.com"}, nil)
			a.mustCall(http.StatusCreated, http.MethodPut, "/v1/appointments/a-1", map[string]any{"patient_id": "p-1001", "start": rfc(time.Now().Add(72 * time.Hour))}, nil)

			var raw json.RawMessage
			a.mustCall(http.StatusOK, http.MethodGet, "/openapi.json", nil, &raw)
			f := newFuzzer(t, raw, uint64(seed))
			counts := map[int]int{}
			for _, op := range f.operations() {
				for range runs {
					req := f.request(op)
					status := f.check(a, op, req)
					counts[status]++
				}
			}
			t.Logf("seed %d, %d operations × %d requests: statuses %v", seed, len(f.operations()), runs, counts)
			if counts[200]+counts[201]+counts[204] == 0 || counts[422] == 0 {
				t.Errorf("the fuzz reached no success or no validation error: %v", counts)
			}
		})
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// fuzzer generates requests from an OpenAPI document and checks answers.
type fuzzer struct {
	t        *testing.T
	doc      map[string]any
	schemas  map[string]any
	compiler *jsonschema.Compiler
	rng      *rand.Rand
	compiled map[string]*jsonschema.Schema
}

type fuzzOp struct {
	method, path string
	op           map[string]any
}

type fuzzRequest struct {
	method, path, query string
	body                []byte
	contentType         string
}

func (r fuzzRequest) String() string {
	b := r.body
	if len(b) > 400 {
		b = append(b[:400:400], "…"...)
	}
	return fmt.Sprintf("%s %s?%s %q", r.method, r.path, r.query, b)
}

const fuzzDocURL = "https://beckon.test/openapi.json"

func newFuzzer(t *testing.T, raw []byte, seed uint64) *fuzzer {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(fuzzDocURL, inst); err != nil {
		t.Fatal(err)
	}
	return &fuzzer{
		t: t, doc: doc, compiler: c, compiled: map[string]*jsonschema.Schema{},
		schemas: doc["components"].(map[string]any)["schemas"].(map[string]any),
		rng:     rand.New(rand.NewPCG(seed, 0x5eed)),
	}
}

func (f *fuzzer) operations() []fuzzOp {
	var ops []fuzzOp
	for p, item := range f.doc["paths"].(map[string]any) {
		for m, o := range item.(map[string]any) {
			if o.(map[string]any)[api.PlainExtension] == true {
				continue // its own handler and media types, not the JSON API
			}
			ops = append(ops, fuzzOp{method: strings.ToUpper(m), path: p, op: o.(map[string]any)})
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].path+ops[i].method < ops[j].path+ops[j].method })
	return ops
}

// resolve follows a $ref into the components.
func (f *fuzzer) resolve(s map[string]any) map[string]any {
	for s != nil {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		s, _ = f.schemas[strings.TrimPrefix(ref, "#/components/schemas/")].(map[string]any)
	}
	return map[string]any{}
}

func (f *fuzzer) chance(p float64) bool { return f.rng.Float64() < p }

// request builds one request for op: valid, or with a few things wrong.
func (f *fuzzer) request(op fuzzOp) fuzzRequest {
	valid := f.chance(0.5)
	req := fuzzRequest{method: op.method, path: op.path, contentType: "application/json"}
	q := url.Values{}
	params, _ := op.op["parameters"].([]any)
	for _, p := range params {
		p := p.(map[string]any)
		name, in := p["name"].(string), p["in"].(string)
		sch, _ := p["schema"].(map[string]any)
		switch in {
		case "path":
			req.path = strings.ReplaceAll(req.path, "{"+name+"}", f.pathValue(f.resolve(sch), valid))
		case "query":
			if f.chance(0.5) {
				continue
			}
			v := f.value(f.resolve(sch), 0)
			if !valid && f.chance(0.5) {
				v = f.mutate(v, 0)
			}
			q.Set(name, queryText(v))
		}
	}
	if !valid && f.chance(0.2) {
		q.Set([]string{"limit", "since", "x", "patient_id"}[f.rng.IntN(4)], []string{"\x00", "\xff", "-1", "1e400", "0000-01-01T00:00:00+01:00", strings.Repeat("z", 300)}[f.rng.IntN(6)])
	}
	req.query = q.Encode()
	rb, _ := op.op["requestBody"].(map[string]any)
	if rb == nil {
		return req
	}
	sch := f.resolve(rb["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any))
	v := f.value(sch, 0)
	if !valid {
		for range 1 + f.rng.IntN(3) {
			v = f.mutate(v, 0)
		}
	}
	req.body, _ = json.Marshal(v)
	if !valid {
		req.body = f.mutateRaw(req.body)
		if f.chance(0.05) {
			req.contentType = []string{"text/plain", "application/x-www-form-urlencoded", ""}[f.rng.IntN(3)]
		}
	}
	return req
}

// seeded ids and hostile path values.
var (
	fuzzIDs       = []string{"p-1001", "a-1", "reminders", "sms-24h", "x", "nobody"}
	fuzzBadPaths  = []string{"..", ".", "%2e%2e", "a%20b", "%00", "%ff", "a%2Fb", "é", "漢字", strings.Repeat("i", 129), ""}
	fuzzBadTimes  = []string{"0000-01-01T00:00:00+01:00", "9999-12-31T23:59:59-12:00", "1899-12-31T23:59:59Z", "2200-01-01T00:00:00Z", "2030-02-30T10:00:00Z", "yesterday"}
	fuzzBadTexts  = []string{"", " ", "\t\n", "\x00", "a\x00b", "é漢字🙂", "\u202e", strings.Repeat("x", 5001), "72h", "+", "-", "{{.Patient.X}}", "<script>", "+99999999999999999"}
	fuzzBigNumber = []any{1e308, -1e308, 1 << 53, -1, 0, 0.5, 1e-9}
)

func (f *fuzzer) pathValue(sch map[string]any, valid bool) string {
	if valid {
		if f.chance(0.6) {
			return fuzzIDs[f.rng.IntN(len(fuzzIDs))]
		}
		return url.PathEscape(f.str(sch))
	}
	return fuzzBadPaths[f.rng.IntN(len(fuzzBadPaths))]
}

func queryText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// value is a value the schema admits, as far as the schema says.
func (f *fuzzer) value(s map[string]any, depth int) any {
	s = f.resolve(s)
	if ex, ok := s["examples"].([]any); ok && len(ex) > 0 && f.chance(0.7) {
		return ex[f.rng.IntN(len(ex))]
	}
	if enum, ok := s["enum"].([]any); ok && len(enum) > 0 {
		return enum[f.rng.IntN(len(enum))]
	}
	switch schemaType(s) {
	case "boolean":
		return f.chance(0.5)
	case "integer":
		lo, hi := bound(s, "minimum", -1000), bound(s, "maximum", 1000)
		return int64(lo) + f.rng.Int64N(int64(hi-lo)+1)
	case "number":
		lo, hi := bound(s, "minimum", -1000), bound(s, "maximum", 1000)
		return lo + f.rng.Float64()*(hi-lo)
	case "array":
		if depth > 4 {
			return []any{}
		}
		n := int(bound(s, "minItems", 0)) + f.rng.IntN(3)
		n = min(n, int(bound(s, "maxItems", 3)))
		items, _ := s["items"].(map[string]any)
		out := make([]any, n)
		for i := range out {
			out[i] = f.value(items, depth+1)
		}
		return out
	case "object":
		out := map[string]any{}
		if depth > 4 {
			return out
		}
		required := map[string]bool{}
		for _, r := range asSlice(s["required"]) {
			required[r.(string)] = true
		}
		props, _ := s["properties"].(map[string]any)
		for name, p := range props {
			p := p.(map[string]any)
			if p["readOnly"] == true {
				continue
			}
			if required[name] || f.chance(0.5) {
				out[name] = f.value(p, depth+1)
			}
		}
		if addl, ok := s["additionalProperties"].(map[string]any); ok {
			for range f.rng.IntN(3) {
				out[[]string{"en", "es", "fr", "es-MX"}[f.rng.IntN(4)]] = f.value(addl, depth+1)
			}
		}
		return out
	}
	return f.str(s)
}

func schemaType(s map[string]any) string {
	switch t := s["type"].(type) {
	case string:
		return t
	case []any:
		for _, x := range t {
			if x != "null" {
				return x.(string)
			}
		}
	}
	if _, ok := s["properties"]; ok {
		return "object"
	}
	return "string"
}

func bound(s map[string]any, key string, def float64) float64 {
	if v, ok := s[key].(float64); ok {
		return v
	}
	return def
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

// str is a string of the schema's length and pattern (from a small pool of
// plausible values when there is a pattern).
func (f *fuzzer) str(s map[string]any) string {
	lo, hi := int(bound(s, "minLength", 0)), int(bound(s, "maxLength", 40))
	if s["format"] == "date-time" {
		return time.Date(1990+f.rng.IntN(60), time.Month(1+f.rng.IntN(12)), 1+f.rng.IntN(28), f.rng.IntN(24), 0, 0, 0, time.UTC).Format(time.RFC3339)
	}
	if p, ok := s["pattern"].(string); ok {
		re, err := regexp.Compile(p)
		if err == nil {
			pool := append([]string{}, fuzzIDs...)
			pool = append(pool, "Ana", "step-2", "a.b:c-d", f.alnum(lo, hi), "-72h", "+2h", "-90m", "-1d")
			for range 8 {
				c := pool[f.rng.IntN(len(pool))]
				if re.MatchString(c) && len(c) >= lo && len(c) <= hi {
					return c
				}
			}
		}
	}
	return f.alnum(lo, hi)
}

func (f *fuzzer) alnum(lo, hi int) string {
	if hi < lo {
		hi = lo
	}
	n := lo + f.rng.IntN(min(hi-lo, 24)+1)
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, max(n, 1))
	for i := range b {
		b[i] = letters[f.rng.IntN(len(letters))]
	}
	return string(b[:n])
}

// mutate breaks v (or something inside it).
func (f *fuzzer) mutate(v any, depth int) any {
	switch x := v.(type) {
	case map[string]any:
		if len(x) > 0 && depth < 5 && f.chance(0.6) {
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			k := keys[f.rng.IntN(len(keys))]
			switch f.rng.IntN(4) {
			case 0:
				delete(x, k)
			case 1:
				x[strings.ToUpper(k)] = f.mutate(x[k], depth+1)
			default:
				x[k] = f.mutate(x[k], depth+1)
			}
			return x
		}
		if f.chance(0.5) {
			x["unexpected_"+f.alnum(1, 4)] = "x"
			return x
		}
	case []any:
		if len(x) > 0 && depth < 5 && f.chance(0.6) {
			i := f.rng.IntN(len(x))
			x[i] = f.mutate(x[i], depth+1)
			return x
		}
		if f.chance(0.3) {
			big := make([]any, 1001)
			for i := range big {
				big[i] = map[string]any{}
			}
			return big
		}
	}
	switch f.rng.IntN(6) {
	case 0:
		return nil
	case 1:
		return fuzzBadTexts[f.rng.IntN(len(fuzzBadTexts))]
	case 2:
		return fuzzBadTimes[f.rng.IntN(len(fuzzBadTimes))]
	case 3:
		return fuzzBigNumber[f.rng.IntN(len(fuzzBigNumber))]
	case 4:
		return map[string]any{"nested": []any{1, "two", nil}}
	}
	return []any{v}
}

// mutateRaw sometimes breaks the encoding itself, where json.Marshal cannot.
func (f *fuzzer) mutateRaw(b []byte) []byte {
	if !f.chance(0.3) {
		return b
	}
	s := string(b)
	switch f.rng.IntN(6) {
	case 0: // a string with a byte that is not UTF-8
		return []byte(strings.Replace(s, `":"`, "\":\"\xff\xfe", 1))
	case 1: // a lone surrogate
		return []byte(strings.Replace(s, `":"`, `":"\ud800`, 1))
	case 2: // a number beyond float64
		return []byte(strings.Replace(s, "{", `{"day":1e400,`, 1))
	case 3: // the same key twice, exactly
		if i := strings.Index(s, `":`); i > 0 {
			if j := strings.LastIndex(s[:i], `"`); j >= 0 {
				return []byte("{" + s[j:i] + `":"dup",` + s[1:])
			}
		}
	case 4: // truncated
		return b[:len(b)/2]
	}
	return append(b, " garbage"...)
}

// check sends req and asserts the answer; it returns the status.
func (f *fuzzer) check(a *app, op fuzzOp, req fuzzRequest) int {
	t := f.t
	t.Helper()
	u := a.base + req.path
	if req.query != "" {
		u += "?" + req.query
	}
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	hr, err := http.NewRequest(req.method, u, body)
	if err != nil {
		// a hostile path the client library refuses to send is no answer
		return 0
	}
	if req.contentType != "" && req.body != nil {
		hr.Header.Set("Content-Type", req.contentType)
	}
	hr.Header.Set("Authorization", "Bearer "+a.key)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(hr)
	if err != nil {
		t.Fatalf("%s: no answer (%v)", req, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 500 {
		t.Errorf("%s: %d %s", req, resp.StatusCode, raw)
		return resp.StatusCode
	}
	responses := op.op["responses"].(map[string]any)
	key := strconv.Itoa(resp.StatusCode)
	doc, ok := responses[key].(map[string]any)
	if !ok {
		doc, ok = responses["default"].(map[string]any)
		key = "default"
	}
	if !ok {
		t.Errorf("%s: status %d is not documented for %s %s: %s", req, resp.StatusCode, op.method, op.path, raw)
		return resp.StatusCode
	}
	content, _ := doc["content"].(map[string]any)
	if len(content) == 0 {
		if len(bytes.TrimSpace(raw)) > 0 {
			t.Errorf("%s: %d has a body but documents none: %s", req, resp.StatusCode, raw)
		}
		return resp.StatusCode
	}
	for ct := range content {
		sch := f.schema(op, key, ct)
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Errorf("%s: %d answer is not JSON: %q", req, resp.StatusCode, raw)
			return resp.StatusCode
		}
		if err := sch.Validate(inst); err != nil {
			t.Errorf("%s: %d answer breaks its schema: %v\n%s", req, resp.StatusCode, err, raw)
		}
		break
	}
	return resp.StatusCode
}

// schema compiles the documented schema of a response.
func (f *fuzzer) schema(op fuzzOp, status, ct string) *jsonschema.Schema {
	ptr := "/paths/" + pointerToken(op.path) + "/" + strings.ToLower(op.method) + "/responses/" + status + "/content/" + pointerToken(ct) + "/schema"
	if s, ok := f.compiled[ptr]; ok {
		return s
	}
	s, err := f.compiler.Compile(fuzzDocURL + "#" + ptr)
	if err != nil {
		f.t.Fatalf("compile %s: %v", ptr, err)
	}
	f.compiled[ptr] = s
	return s
}

// pointerToken escapes a JSON pointer token for a URL fragment.
func pointerToken(s string) string {
	s = strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
	return url.PathEscape(s)
}
