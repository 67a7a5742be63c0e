package app

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/beckonhealth/beckon/feeds"
)

// mllpListener is the running MLLP listener, if any.
type mllpListener struct {
	srv *feeds.MLLPServer
	ln  net.Listener
	wg  sync.WaitGroup
}

// hl7Processor is the HL7 v2 processing that MLLP, POST /hl7/v2 and replay
// share.
func (a *App) hl7Processor(component string) *feeds.HL7Processor {
	return &feeds.HL7Processor{
		Store:   a.store,
		Service: a.service(),
		Clock:   a.Clock,
		Logger:  a.Logger.With(slog.String("component", component)),
		Metrics: a.metrics,
	}
}

// startMLLP starts the HL7 v2 MLLP listener when BECKON_MLLP_ADDR is set.
func (a *App) startMLLP() error {
	if a.Config.MLLPAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", a.Config.MLLPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s (MLLP): %w", a.Config.MLLPAddr, err)
	}
	a.mllp.ln = ln
	ln = feeds.LimitMLLP(ln, a.Config.MLLPMaxConns)
	a.mllp.srv = feeds.NewMLLPServer(a.hl7Processor("hl7"), feeds.MLLPConfig{ClinicID: a.Config.MLLPClinic, IdleTimeout: a.Config.MLLPIdleTimeout})
	a.mllp.wg.Add(1)
	go func() {
		defer a.mllp.wg.Done()
		if err := a.mllp.srv.Serve(ln); err != nil && !errors.Is(err, net.ErrClosed) {
			a.Logger.Error("mllp listener stopped", slog.String("error", err.Error()))
		}
	}()
	fmt.Fprintf(a.Stdout, "HL7 v2 MLLP listening on %s\n", ln.Addr())
	return nil
}

// MLLPAddr is where the MLLP listener listens, once Start has started it.
func (a *App) MLLPAddr() string {
	if a.mllp.ln == nil {
		return ""
	}
	return a.mllp.ln.Addr().String()
}

// closeMLLP stops the MLLP listener: no new connections, open ones end
// after the message in hand.
func (a *App) closeMLLP() error {
	if a.mllp.srv == nil {
		return nil
	}
	err := a.mllp.srv.Close()
	a.mllp.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}
