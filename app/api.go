package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/beckonhealth/beckon/api"
	"github.com/beckonhealth/beckon/scheduler"
)

// service is the planning service the API and the feeds write through.
func (a *App) service() *scheduler.Service {
	return &scheduler.Service{Store: a.store, Clock: a.Clock, Logger: a.Logger}
}

func (a *App) startAPI() error {
	ln, err := net.Listen("tcp", a.Config.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.Config.HTTPAddr, err)
	}
	srv := api.New(api.Config{
		Store:     a.store,
		Service:   a.service(),
		Clock:     a.Clock,
		Logger:    a.Logger,
		Ready:     func(ctx context.Context) error { return a.rdb.Ping(ctx).Err() },
		Tasks:     a.client,
		Delivery:  a.deliveryConfig(),
		Queue:     a.Config.Queue,
		Egress:    a.Config.EgressPolicy(),
		Version:   ReadBuildInfo().String(),
		ServerURL: cmp.Or(a.Config.Providers.PublicURL, listenURL(ln.Addr())),

		Metrics:        a.metrics,
		MetricsHandler: a.apiMetricsHandler(),
		MetricsToken:   a.Config.MetricsToken,
	})
	a.ln = ln
	a.http = &http.Server{
		Handler:           api.CloseUnfinished(srv),
		ReadHeaderTimeout: min(10*time.Second, a.Config.HTTPReadTimeout),
		ReadTimeout:       a.Config.HTTPReadTimeout,
		WriteTimeout:      time.Minute,
		IdleTimeout:       a.Config.HTTPIdleTimeout,
	}
	ln = api.LimitHTTP(ln, a.Config.HTTPMaxConns)
	a.serveW.Add(1)
	go func() {
		defer a.serveW.Done()
		if err := a.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.Logger.Error("http server stopped", slog.String("error", err.Error()))
		}
	}()
	fmt.Fprintf(a.Stdout, "Beckon API listening on http://%s (OpenAPI: /openapi.json)\n", ln.Addr())
	return nil
}

// deliveryConfig is what the API's webhooks need. Provider settings that
// are not valid are logged, and the webhooks use what is valid (the worker
// refuses to start on them).
func (a *App) deliveryConfig() api.DeliveryConfig {
	p := a.Config.Providers
	if err := a.Config.ProvidersErr(); err != nil {
		a.Logger.Error("provider settings are not valid; webhooks use what is valid", slog.String("error", err.Error()))
	}
	return api.DeliveryConfig{
		PublicURL:                 p.PublicURL,
		Queue:                     a.Config.Queue,
		MaxRetry:                  a.Config.MaxRetry,
		TwilioAuthToken:           p.TwilioAuthToken,
		SendGridWebhookKey:        p.SendGridWebhookKey,
		TwilioAccountSID:          p.TwilioAccountSID,
		TwilioFrom:                p.TwilioFrom,
		TwilioMessagingServiceSID: p.TwilioMessagingServiceSID,
		ChannelMode:               p.Mode,
	}
}

// listenURL is the API's URL from its listen address (an unspecified
// address, 0.0.0.0 or ::, is reached as localhost).
func listenURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}
