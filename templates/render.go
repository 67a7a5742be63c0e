package templates

import (
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"strings"
	texttemplate "text/template"
	"text/template/parse"
	"time"

	"github.com/beckonhealth/beckon"
)

// Limits on what a template may be and produce. The time limit is a last
// defence: the rules of checkTree bound a render to far less.
const (
	maxSource     = 64 << 10  // bytes of one part's source
	maxOutput     = 256 << 10 // bytes of one part's output
	maxRenderTime = time.Second
)

// Errors wrapped by *Error.
var (
	ErrRequired   = errors.New("required but empty")
	ErrEmpty      = errors.New("renders as empty text")
	ErrTooLarge   = errors.New("too large")
	ErrNotAllowed = errors.New("not allowed in message templates")
	ErrChannel    = errors.New("unknown channel")
	ErrNoContent  = errors.New("no content in any language")
	ErrTooSlow    = errors.New("rendering took too long")
	ErrPanicked   = errors.New("rendering failed unexpectedly")
)

// Error is a problem with one part of a template. Lang is empty when the
// language is not known (Render) or the problem is not in one language.
type Error struct {
	Lang string // the content's language key, e.g. "es"
	Part string // "subject", "text" or "html"; empty for the whole content
	Err  error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("templates: ")
	if e.Lang != "" {
		b.WriteString(e.Lang + ": ")
	}
	if e.Part != "" {
		b.WriteString(e.Part + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Part names.
const (
	PartSubject = "subject"
	PartText    = "text"
	PartHTML    = "html"
)

// Rendered is a message ready for a channel. SMS fills Text only.
type Rendered struct {
	Subject, Text, HTML string
}

// Render renders c for a channel, beckon.ChannelSMS or beckon.ChannelEmail;
// beckon.ChannelPreferred must be resolved to one of them first.
//
// Text and Subject are Go text/template; HTML is html/template, so patient-
// and clinic-controlled values are escaped there and only there. A missing
// field or map key is an error. Text is trimmed of surrounding white space;
// Subject is one line, its white space (newlines included) collapsed to
// single spaces; HTML is returned as rendered.
//
// SMS requires Text and ignores Subject and HTML. Email requires Subject and
// Text; HTML is optional. A required part that renders empty is an error.
// Templates may use fields, if/else, with, comparisons and a few formatting
// functions (see checkTree); anything else is an error, and a render is
// bounded in output, memory and time whatever the template says. Parsed
// templates are cached by source. Render never panics: every failure is an
// error that names the part and holds no patient data.
func Render(channel beckon.Channel, c beckon.Content, d Data) (Rendered, error) {
	var r Rendered
	var err error
	switch channel {
	case beckon.ChannelSMS:
		r.Text, err = renderPart(PartText, c.Text, true, d)
	case beckon.ChannelEmail:
		if r.Subject, err = renderPart(PartSubject, c.Subject, true, d); err != nil {
			return Rendered{}, err
		}
		if r.Text, err = renderPart(PartText, c.Text, true, d); err != nil {
			return Rendered{}, err
		}
		r.HTML, err = renderPart(PartHTML, c.HTML, false, d)
	default:
		err = &Error{Err: fmt.Errorf("%w %q: want %q or %q", ErrChannel, channel, beckon.ChannelSMS, beckon.ChannelEmail)}
	}
	if err != nil {
		return Rendered{}, err
	}
	return r, nil
}

// renderPart renders one part's source and tidies it as the part requires.
func renderPart(part, src string, required bool, d Data) (string, error) {
	if strings.TrimSpace(src) == "" {
		if required {
			return "", &Error{Part: part, Err: ErrRequired}
		}
		return "", nil
	}
	out, err := execute(kindOf(part), src, d)
	if err != nil {
		return "", &Error{Part: part, Err: err}
	}
	switch part {
	case PartSubject:
		out = strings.Join(strings.Fields(out), " ")
	case PartText:
		out = strings.TrimSpace(out)
	}
	if required && strings.TrimSpace(out) == "" {
		return "", &Error{Part: part, Err: ErrEmpty}
	}
	return out, nil
}

// kind is the template language of a part.
type kind uint8

const (
	kindText kind = iota // text/template
	kindHTML             // html/template
)

func kindOf(part string) kind {
	if part == PartHTML {
		return kindHTML
	}
	return kindText
}

// executor is what text/template and html/template templates share.
type executor interface {
	Execute(w io.Writer, data any) error
}

// cache holds parsed templates for every caller of this package. It is the
// package's only shared state, and safe for concurrent use.
var cache = newParseCache(cacheEntries, cacheBytes)

// execute runs the (cached) template of src on d.
func execute(k kind, src string, d Data) (string, error) {
	p := cache.get(cacheKey{kind: k, src: src}, parseSource)
	if p.err != nil {
		return "", p.err
	}
	return run(p.tmpl, d, time.Now)
}

// run executes t on d within maxOutput bytes and maxRenderTime (measured
// with now), turning a panic into an error: a template fails its message,
// never the process.
func run(t executor, d Data, now func() time.Time) (out string, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = "", fmt.Errorf("%w (%T)", ErrPanicked, r)
		}
	}()
	w := boundedWriter{max: maxOutput, now: now, deadline: now().Add(maxRenderTime)}
	if err := t.Execute(&w, d); err != nil {
		switch {
		case errors.Is(err, errOutputTooLarge):
			return "", fmt.Errorf("output %w: more than %d bytes", ErrTooLarge, maxOutput)
		case errors.Is(err, errDeadline):
			return "", fmt.Errorf("%w: more than %s", ErrTooSlow, maxRenderTime)
		}
		return "", err
	}
	return w.b.String(), nil
}

// parseSource parses src as a template of kind k and checks that it uses
// only what message templates allow (see checkTree).
func parseSource(k kind, src string) parsed {
	if len(src) > maxSource {
		return parsed{err: fmt.Errorf("source %w: %d bytes, more than %d", ErrTooLarge, len(src), maxSource)}
	}
	const name = "message"
	var (
		tmpl  executor
		trees = map[string]*parse.Tree{}
	)
	switch k {
	case kindHTML:
		t, err := htmltemplate.New(name).Option("missingkey=error").Funcs(messageFuncs).Parse(src)
		if err != nil {
			return parsed{err: err}
		}
		for _, tt := range t.Templates() {
			trees[tt.Name()] = tt.Tree
		}
		tmpl = t
	default:
		t, err := texttemplate.New(name).Option("missingkey=error").Funcs(messageFuncs).Parse(src)
		if err != nil {
			return parsed{err: err}
		}
		for _, tt := range t.Templates() {
			trees[tt.Name()] = tt.Tree
		}
		tmpl = t
	}
	for n := range trees {
		if n != name {
			return parsed{err: fmt.Errorf("define and block are %w", ErrNotAllowed)}
		}
	}
	if tree := trees[name]; tree != nil && tree.Root != nil {
		if err := checkTree(tree); err != nil {
			return parsed{err: err}
		}
	}
	return parsed{tmpl: tmpl}
}

var (
	errOutputTooLarge = errors.New("output too large")
	errDeadline       = errors.New("deadline passed")
)

// boundedWriter collects output and fails once it would exceed max bytes or
// once now passes deadline. Every action that prints writes to it, so a
// render stops at the first write past either bound.
type boundedWriter struct {
	b        strings.Builder
	max      int
	now      func() time.Time
	deadline time.Time
}

func (w *boundedWriter) Write(p []byte) (int, error) {
	if w.b.Len()+len(p) > w.max {
		return 0, errOutputTooLarge
	}
	if w.now().After(w.deadline) {
		return 0, errDeadline
	}
	return w.b.Write(p)
}
