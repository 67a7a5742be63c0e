// Package api is Beckon's HTTP surface: the REST API under /v1, health checks
// and the OpenAPI document generated from the handlers.
package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/hibiken/asynq"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/egress"
	"github.com/beckonhealth/beckon/links"
	"github.com/beckonhealth/beckon/scheduler"
)

// Config is what the API needs.
type Config struct {
	Store   beckon.Store
	Service *scheduler.Service
	Clock   beckon.Clock
	Logger  *slog.Logger
	// Ready reports whether the dependencies other than the store (Redis) are up.
	Ready func(ctx context.Context) error
	// Version is reported in the OpenAPI document.
	Version string
	// ServerURL is the document's server: Beckon's public URL, else the
	// listen address. Default Delivery.PublicURL, else "/" (this origin).
	ServerURL string
	// Tasks enqueues asynq tasks (inbound statuses and messages are applied by
	// workers, not in the request).
	Tasks *asynq.Client
	// Queue is the asynq queue of Tasks (EHR write-backs). Default "sends".
	Queue string
	// Delivery configures the provider webhooks (public URL, default secrets).
	Delivery DeliveryConfig
	// Egress is which internal hosts a clinic's URLs (FHIR base, webhook) may
	// point at. Default: none, only public addresses over https.
	Egress egress.Policy
	// Metrics counts requests by route and status, and the feed messages;
	// nil: nothing is counted.
	Metrics Metrics
	// MetricsHandler, when set, is served at GET /metrics (unset when the
	// metrics have an address of their own).
	MetricsHandler http.Handler
	// MetricsToken, when set, is the bearer token GET /metrics asks for;
	// empty: /metrics is public.
	MetricsToken string
}

// Server serves the API.
type Server struct {
	cfg    Config
	store  beckon.Store
	svc    *scheduler.Service
	logger *slog.Logger
	api    huma.API
	mux    *http.ServeMux
	// plain are the routes on mux outside huma (plain_routes.go).
	plain []plainRoute
	// linkKeys signs and verifies email links (links.go).
	linkKeys *links.Keys
	// reads records reads of patient data in the audit trail (audit.go).
	reads auditWriter
	// inbound stores the inbound messages of concurrent requests together.
	inbound inboundWriter
}

// maxBodyBytes bounds request bodies (a batch of 1,000 appointments fits).
const maxBodyBytes = 4 << 20

type ctxKey int

const keyCtx ctxKey = iota

// New builds the API server.
func New(cfg Config) *Server {
	installErrorShape()
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	mux := http.NewServeMux()
	hc := huma.DefaultConfig("Beckon API", cfg.Version)
	hc.Info.Description = "Patient messaging and appointment reminders. Authenticate with `Authorization: Bearer <key>`."
	hc.CreateHooks = nil // no $schema links in responses
	hc.DocsPath = ""     // served from embedded assets instead (docs.go)
	hc.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", Description: "A clinic API key, shown once when created."},
	}
	s := &Server{
		cfg:    cfg,
		store:  cfg.Store,
		svc:    cfg.Service,
		logger: cfg.Logger.With(slog.String("component", "api")),
		mux:    mux,
	}
	s.inbound.put = func(ctx context.Context, ms []beckon.InboundSMS) ([]beckon.InboundSMSPutResult, error) {
		return s.store.InboundSMSPutMany(ctx, ms, true)
	}
	s.api = humago.New(mux, hc)
	s.api.UseMiddleware(s.authenticate, s.checkInput)
	s.routes()
	documentCreated(s.api.OpenAPI())
	s.completeDocument(s.api.OpenAPI())
	return s
}

// ServeHTTP implements http.Handler. Every answer is complete or an error in
// the API's shape: a request path that is not in clean form (".." or "."
// segments, doubled slashes) names no resource and is answered 404, never
// redirected; and an answer that fails while being produced or encoded is a
// 500 logged with a request id, never a dropped connection.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	pattern := ""
	if r.URL.Path == cleanPath(r.URL.Path) {
		_, pattern = s.mux.Handler(r)
	}
	s.metered(w, r, pattern, s.serve)
}

// serve answers the request (ServeHTTP).
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != cleanPath(r.URL.Path) {
		writeError(w, newError(http.StatusNotFound, CodeNotFound, "no such route: the path is not in clean form (no \".\" or \"..\" segments or doubled slashes)"))
		return
	}
	if h, pattern := s.mux.Handler(r); pattern == "" {
		// No route: answer in the API's error shape, keeping the mux's status
		// (404, or 405 for a known path with another method).
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		msg := "no such route; see /openapi.json"
		status := rec.Code
		if status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", rec.Header().Get("Allow"))
			msg = "method not allowed on this route"
		} else {
			status = http.StatusNotFound
		}
		writeError(w, newError(status, codeFor(status), msg))
		return
	}
	s.serveBuffered(w, r)
}

// cleanPath is the form http.ServeMux redirects to: path.Clean, keeping a
// trailing slash.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

func writeError(w http.ResponseWriter, e *Error) {
	setErrorHeaders(w, e)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(e)
}

// OpenAPI returns the generated OpenAPI document.
func (s *Server) OpenAPI() *huma.OpenAPI { return s.api.OpenAPI() }

func (s *Server) routes() {
	s.registerHealth()
	s.registerClinic()
	s.registerPatients()
	s.registerConsent()
	s.registerAppointments()
	s.registerCampaigns()
	s.registerMessages()
	s.registerWebhooks()
	s.registerConversation()
	s.registerFeeds()
	s.registerEventWebhooks()
	s.registerLinks()
	s.registerAudit()
	s.registerDocs()
	s.registerMetrics()
}

var bearer = []map[string][]string{{"bearer": {}}}

// authenticate resolves the API key of operations that declare security and
// puts it in the context; every handler scopes its queries to that key's clinic.
func (s *Server) authenticate(ctx huma.Context, next func(huma.Context)) {
	op := ctx.Operation()
	if op == nil || len(op.Security) == 0 {
		next(ctx)
		return
	}
	h := ctx.Header("Authorization")
	secret, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || secret == "" {
		_ = huma.WriteErr(s.api, ctx, http.StatusUnauthorized, "missing bearer API key in the Authorization header")
		return
	}
	key, err := s.store.APIKeyGetByHash(ctx.Context(), HashKey(strings.TrimSpace(secret)))
	if errors.Is(err, beckon.ErrNotFound) {
		_ = huma.WriteErr(s.api, ctx, http.StatusUnauthorized, "unknown API key")
		return
	}
	if err != nil {
		s.logger.Error("api key lookup failed", slog.String("error", err.Error()))
		ctx.SetHeader("Retry-After", retryAfter)
		_ = huma.WriteErr(s.api, ctx, http.StatusServiceUnavailable, "cannot check the API key now")
		return
	}
	if roles, ok := op.Metadata["roles"].([]beckon.Role); ok && !slices.Contains(roles, key.Role) {
		_ = huma.WriteErr(s.api, ctx, http.StatusForbidden, "this API key's role ("+string(key.Role)+") may not do this")
		return
	}
	next(huma.WithValue(ctx, keyCtx, key))
}

// keyFrom returns the authenticated key; handlers behind security always have one.
func keyFrom(ctx context.Context) beckon.APIKey {
	k, _ := ctx.Value(keyCtx).(beckon.APIKey)
	return k
}

func actor(k beckon.APIKey) string { return "key:" + k.ID }

// HashKey is how API key secrets are stored: hex SHA-256 (the secrets are long
// random strings, so a slow hash adds nothing).
func HashKey(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// op builds an authenticated operation for the given roles.
func op(id, method, path, summary string, roles ...beckon.Role) huma.Operation {
	if len(roles) == 0 {
		roles = []beckon.Role{beckon.RoleAdmin}
	}
	return huma.Operation{
		OperationID: id,
		Method:      method,
		Path:        path,
		Summary:     summary,
		Security:    bearer,
		Metadata:    map[string]any{"roles": roles},
		Errors:      errorStatuses(method),
	}
}

// errorStatuses are the error statuses an operation can answer (huma adds
// 500): a bad request, key or role, a missing resource, a field at fault, the
// key store down (503); with a body, a concurrent change (409), a body too
// large (413) or not JSON (415).
func errorStatuses(method string) []int {
	st := []int{400, 401, 403, 404, 422, 503}
	switch method {
	case http.MethodPut, http.MethodPost, http.MethodPatch:
		st = append(st, 409, 413, 415)
	case http.MethodDelete:
		st = append(st, 409)
	}
	return st
}

// creates marks an upsert: it answers 201 when it created the resource and
// 200 otherwise, with the same body.
func creates(o huma.Operation) huma.Operation {
	o.Metadata["creates"] = true
	return o
}

// answers sets the status an operation answers when it succeeds.
func answers(status int, o huma.Operation) huma.Operation {
	o.DefaultStatus = status
	return o
}

// documentCreated documents the 201 of the operations marked by creates
// (huma documents only an operation's default status).
func documentCreated(doc *huma.OpenAPI) {
	for _, item := range doc.Paths {
		for _, o := range []*huma.Operation{item.Put, item.Post} {
			if o == nil || o.Metadata["creates"] != true || o.Responses["200"] == nil {
				continue
			}
			o.Responses["201"] = &huma.Response{Description: "Created", Content: o.Responses["200"].Content}
		}
	}
}
