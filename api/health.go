package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

type healthOutput struct {
	Body struct {
		Status string `json:"status" example:"ok"`
	}
}

func (s *Server) registerHealth() {
	huma.Register(s.api, huma.Operation{
		OperationID: "healthz", Method: http.MethodGet, Path: "/healthz",
		Summary: "Liveness: the process is serving",
	}, func(ctx context.Context, _ *struct{}) (*healthOutput, error) {
		out := &healthOutput{}
		out.Body.Status = "ok"
		return out, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "readyz", Method: http.MethodGet, Path: "/readyz",
		Summary: "Readiness: the database and Redis answer",
		Errors:  []int{503},
	}, func(ctx context.Context, _ *struct{}) (*healthOutput, error) {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if err := s.store.Ping(ctx); err != nil {
			return nil, newError(http.StatusServiceUnavailable, CodeUnavailable, "database not reachable")
		}
		if s.cfg.Ready != nil {
			if err := s.cfg.Ready(ctx); err != nil {
				return nil, newError(http.StatusServiceUnavailable, CodeUnavailable, "redis not reachable")
			}
		}
		out := &healthOutput{}
		out.Body.Status = "ready"
		return out, nil
	})
}
