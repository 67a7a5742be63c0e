package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
)

// What the REST API refuses in any request before a field rule sees it,
// because no field rule can: a JSON key given twice (encoding/json matches
// keys to fields without regard to letter case, so "First_Name" after
// "first_name" would replace the value the validator checked), a NUL
// character (PostgreSQL cannot store it in text), and text that is not UTF-8
// (the decoder would quietly turn it into U+FFFD).

// rawProblem is the first such thing in a request: the field at fault, as the
// client wrote it ("steps[1].id", "query.patient_id"), and what is wrong.
type rawProblem struct {
	field, message string
}

// scanJSON reports the first key repeated in one object (in any letter case),
// and, when text is true, the first string or key with a NUL or with bytes
// that are not UTF-8. A body that is not JSON at all is not its business (the
// decoder answers that): it returns nil.
func scanJSON(raw []byte, text bool) *rawProblem {
	var stack []*jsonFrame
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	expectKey := false
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil // io.EOF, or not JSON: the decoder's answer
		}
		var top *jsonFrame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if expectKey {
			if tok == json.Delim('}') {
				stack = stack[:len(stack)-1]
				expectKey = afterValue(stack)
				continue
			}
			key, _ := tok.(string)
			top.key = key
			if text {
				if msg := badText(key, raw[start:dec.InputOffset()]); msg != "" {
					return &rawProblem{field: top.path, message: "a key " + msg}
				}
			}
			folded := foldKey(key)
			if first, dup := top.keys[folded]; dup {
				msg := "repeats the key " + strconv.Quote(first) + "; give each key once"
				if first != key {
					msg += " (keys are matched without regard to letter case)"
				}
				return &rawProblem{field: joinField(top.path, key), message: msg}
			}
			top.keys[folded] = key
			expectKey = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &jsonFrame{object: true, keys: map[string]string{}, path: top.field()})
			expectKey = true
			continue
		case json.Delim('['):
			stack = append(stack, &jsonFrame{path: top.field()})
			continue
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
			expectKey = afterValue(stack)
			continue
		}
		if s, ok := tok.(string); ok && text {
			if msg := badText(s, raw[start:dec.InputOffset()]); msg != "" {
				return &rawProblem{field: top.field(), message: msg}
			}
		}
		expectKey = afterValue(stack)
	}
}

// jsonFrame is an object or array scanJSON is inside.
type jsonFrame struct {
	object bool
	keys   map[string]string // object: folded key → the key as written
	key    string            // object: the current key
	index  int               // array: the current element
	path   string            // the container's own field name
}

// field names the current member of f ("" at the top level).
func (f *jsonFrame) field() string {
	switch {
	case f == nil:
		return ""
	case f.object:
		return joinField(f.path, f.key)
	}
	return f.path + "[" + strconv.Itoa(f.index) + "]"
}

// afterValue moves past a value of the innermost container and reports
// whether a key comes next.
func afterValue(stack []*jsonFrame) bool {
	if len(stack) == 0 {
		return false
	}
	top := stack[len(stack)-1]
	if top.object {
		return true
	}
	top.index++
	return false
}

func joinField(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// foldKey maps keys that encoding/json takes for the same field (equal under
// Unicode simple case folding, as bytes.EqualFold compares them) to one string.
func foldKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
}

// badText says what is wrong with a decoded string s whose JSON source is
// src (src may include the separators before it), or "".
func badText(s string, src []byte) string {
	switch {
	case !utf8.Valid(src):
		return "is not valid UTF-8 text"
	case strings.IndexByte(s, 0) >= 0:
		return "contains a NUL character (\\u0000)"
	case strings.ContainsRune(s, utf8.RuneError) && !bytes.Contains(src, []byte("\xef\xbf\xbd")) && !bytes.Contains(bytes.ToLower(src), []byte(`\ufffd`)):
		return "contains a \\u escape that is not a Unicode character (a lone surrogate)"
	}
	return ""
}

// badParam checks a path or query value for the same text rules.
func badParam(v string) string {
	switch {
	case !utf8.ValidString(v):
		return "is not valid UTF-8 text"
	case strings.IndexByte(v, 0) >= 0:
		return "contains a NUL character"
	}
	return ""
}

// checkInput is the middleware that holds every REST request to these rules:
// its path and query values, and its JSON body (read here, bounded by
// ServeHTTP, and handed on to the operation unchanged). It runs after
// authentication, so a caller without a key learns nothing from it.
func (s *Server) checkInput(ctx huma.Context, next func(huma.Context)) {
	op := ctx.Operation()
	if op == nil {
		next(ctx)
		return
	}
	for _, p := range op.Parameters {
		var v string
		switch p.In {
		case "path":
			v = ctx.Param(p.Name)
		case "query":
			v = ctx.Query(p.Name)
		default:
			continue
		}
		if msg := badParam(v); msg != "" {
			s.refuse(ctx, p.In+"."+p.Name, msg)
			return
		}
	}
	if op.RequestBody == nil || !jsonContent(ctx.Header("Content-Type")) {
		next(ctx) // no body, or not JSON: the operation answers 415
		return
	}
	raw, err := io.ReadAll(ctx.BodyReader())
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			_ = huma.WriteErr(s.api, ctx, http.StatusRequestEntityTooLarge, "the body is too large")
			return
		}
		_ = huma.WriteErr(s.api, ctx, http.StatusBadRequest, "cannot read the body")
		return
	}
	if p := scanJSON(raw, true); p != nil {
		s.refuse(ctx, "body."+p.field, p.message)
		return
	}
	next(bodyContext{humaContext: ctx, body: bytes.NewReader(raw)})
}

// refuse answers 422 naming the field (huma's location form: body.x, query.y).
func (s *Server) refuse(ctx huma.Context, location, msg string) {
	location = strings.TrimSuffix(location, ".")
	_ = huma.WriteErr(s.api, ctx, http.StatusUnprocessableEntity, "validation failed",
		&huma.ErrorDetail{Location: location, Message: msg})
}

// jsonContent reports whether a request's Content-Type is JSON (or absent,
// which the operations read as JSON).
func jsonContent(ct string) bool {
	return ct == "" || strings.Contains(strings.ToLower(ct), "json")
}

// bodyContext hands the operation a body already read.
type bodyContext struct {
	humaContext
	body io.Reader
}

// humaContext names the embedded context (huma.Context has a method Context).
type humaContext = huma.Context

func (c bodyContext) BodyReader() io.Reader { return c.body }
func (c bodyContext) Unwrap() huma.Context  { return c.humaContext }
