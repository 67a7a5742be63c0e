package templates

import (
	"embed"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/beckonhealth/beckon"
)

// builtinFS holds the built-in templates, one file per part:
// builtin/<name>/<lang>.<part>.tmpl, part being subject, text or html.
//
//go:embed builtin
var builtinFS embed.FS

// builtins loads the embedded templates once. A malformed file is a
// programming error caught by the package's tests, so it panics.
var builtins = sync.OnceValue(func() map[string]beckon.Contents {
	m, err := loadBuiltins(builtinFS, "builtin")
	if err != nil {
		panic(err)
	}
	return m
})

// loadBuiltins reads root/<name>/<lang>.<part>.tmpl files. Subject and text
// sources are trimmed of surrounding white space; HTML is kept as written.
func loadBuiltins(fsys fs.FS, root string) (map[string]beckon.Contents, error) {
	m := make(map[string]beckon.Contents)
	err := fs.WalkDir(fsys, root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel := strings.TrimPrefix(p, root+"/")
		name, file := path.Split(rel)
		name = strings.TrimSuffix(name, "/")
		parts := strings.Split(file, ".")
		if name == "" || strings.Contains(name, "/") || len(parts) != 3 || parts[2] != "tmpl" || parts[0] == "" {
			return fmt.Errorf("templates: %s: want %s/<name>/<lang>.<part>.tmpl", p, root)
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		src := string(b)
		lang := parts[0]
		if m[name] == nil {
			m[name] = make(beckon.Contents)
		}
		c := m[name][lang]
		switch parts[1] {
		case PartSubject:
			c.Subject = strings.TrimSpace(src)
		case PartText:
			c.Text = strings.TrimSpace(src)
		case PartHTML:
			c.HTML = src
		default:
			return fmt.Errorf("templates: %s: unknown part %q", p, parts[1])
		}
		m[name][lang] = c
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Builtin returns every language of the built-in template name, or false if
// there is no such template. The map is the caller's to keep or change.
func Builtin(name string) (beckon.Contents, bool) {
	cs, ok := builtins()[name]
	if !ok {
		return nil, false
	}
	return maps.Clone(cs), true
}

// Names returns the names of the built-in templates, sorted.
func Names() []string {
	return slices.Sorted(maps.Keys(builtins()))
}
