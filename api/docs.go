package api

import (
	"bytes"
	"embed"
	"net/http"
	"time"
)

// The API reference at /docs: Stoplight Elements (api/docs/README.md names
// the package, version and licence) served from files embedded in the binary,
// so the page works offline and loads nothing from another origin.

// DocsPath is where the API reference is served; its assets are under
// DocsAssetsPath.
const (
	DocsPath       = "/docs"
	DocsAssetsPath = "/docs/assets/"
)

// elementsVersion is the embedded @stoplight/elements version; it is part of
// the asset URLs so that a browser never mixes cached files of two versions.
const elementsVersion = "9.0.25"

//go:embed docs/assets/web-components.min.js docs/assets/styles.min.css
var docsAssets embed.FS

// docsAsset is one embedded file and the content type it is served with.
type docsAsset struct {
	file        string
	contentType string
}

var docsAssetFiles = map[string]docsAsset{
	"elements-" + elementsVersion + ".js":  {"docs/assets/web-components.min.js", "text/javascript; charset=utf-8"},
	"elements-" + elementsVersion + ".css": {"docs/assets/styles.min.css", "text/css; charset=utf-8"},
}

// docsCSP lets the page run only this origin's script and styles (Elements
// also sets inline styles) and fetch only this origin (the OpenAPI document
// and "try it" requests).
const docsCSP = "default-src 'none'; base-uri 'none'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; " +
	"img-src 'self' data:; font-src 'self' data:; script-src 'self'; style-src 'self' 'unsafe-inline'"

var docsPage = []byte(`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="referrer" content="no-referrer">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Beckon API Reference</title>
    <link rel="stylesheet" href="` + DocsAssetsPath + `elements-` + elementsVersion + `.css">
    <script src="` + DocsAssetsPath + `elements-` + elementsVersion + `.js"></script>
  </head>
  <body style="height: 100vh;">
    <elements-api
      apiDescriptionUrl="/openapi.yaml"
      router="hash"
      layout="sidebar"
      tryItCredentialsPolicy="same-origin"
    ></elements-api>
  </body>
</html>
`)

// registerDocs serves the reference page and its assets (huma's own /docs,
// which loads them from a CDN, is turned off in New).
func (s *Server) registerDocs() {
	s.handleUndocumented("GET "+DocsPath, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", docsCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(docsPage)
	}))
	s.handleUndocumented("GET "+DocsAssetsPath+"{file}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := docsAssetFiles[r.PathValue("file")]
		if !ok {
			writeError(w, newError(http.StatusNotFound, CodeNotFound, "no such docs asset"))
			return
		}
		b, err := docsAssets.ReadFile(a.file)
		if err != nil { // cannot happen: the files are embedded
			s.failInternal(w, r, err)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.contentType)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "public, max-age=604800, immutable")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
	}))
}
