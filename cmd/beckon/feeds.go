package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/hibiken/asynq"

	ehrfeeds "github.com/beckonhealth/beckon/feeds"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/tasks"
	"github.com/beckonhealth/beckon/worker"
)

// feeds is the running MLLP listener, if any.
type feeds struct {
	mllp *ehrfeeds.MLLPServer
	ln   net.Listener
	wg   sync.WaitGroup
}

// startFeeds starts the EHR feed listeners of the roles that serve them
// (the MLLP listener, for serve and api, when BECKON_MLLP_ADDR is set).
func (m *Main) startFeeds(ctx context.Context) error {
	_ = ctx
	if m.Config.MLLPAddr == "" || (m.role != "serve" && m.role != "api") {
		return nil
	}
	proc := &ehrfeeds.HL7Processor{
		Store:   m.store,
		Service: &scheduler.Service{Store: m.store, Clock: m.Clock, Logger: m.logger},
		Clock:   m.Clock,
		Logger:  m.logger.With(slog.String("component", "hl7")),
	}
	ln, err := net.Listen("tcp", m.Config.MLLPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s (MLLP): %w", m.Config.MLLPAddr, err)
	}
	m.feeds.ln = ln
	ln = ehrfeeds.LimitMLLP(ln, m.Config.MLLPMaxConns)
	m.feeds.mllp = ehrfeeds.NewMLLPServer(proc, ehrfeeds.MLLPConfig{ClinicID: m.Config.MLLPClinic, IdleTimeout: m.Config.MLLPIdleTimeout})
	m.feeds.wg.Add(1)
	go func() {
		defer m.feeds.wg.Done()
		if err := m.feeds.mllp.Serve(ln); err != nil && !errors.Is(err, net.ErrClosed) {
			m.logger.Error("mllp listener stopped", slog.String("error", err.Error()))
		}
	}()
	fmt.Fprintf(m.Stdout, "HL7 v2 MLLP listening on %s\n", ln.Addr())
	return nil
}

// MLLPAddr is where the MLLP listener listens, once Run has started it.
func (m *Main) MLLPAddr() string {
	if m.feeds.ln == nil {
		return ""
	}
	return m.feeds.ln.Addr().String()
}

// closeFeeds stops the MLLP listener: no new connections, open ones end
// after the message in hand.
func (m *Main) closeFeeds() error {
	if m.feeds.mllp == nil {
		return nil
	}
	err := m.feeds.mllp.Close()
	m.feeds.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// registerFeedHandlers adds the EHR write-back handler.
func (m *Main) registerFeedHandlers(mux *asynq.ServeMux) {
	mux.Handle(tasks.TypeWriteback, worker.NewWritebacker(m.store, m.Clock, m.logger, m.Config.egressPolicy()))
}
