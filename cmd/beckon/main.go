// Command beckon runs Beckon: `serve` runs every role in one process on the
// embedded defaults; `api`, `worker` and `scheduler` run one role each against
// PostgreSQL and Redis; `migrate`, `clinic create` and `key create` administer.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // time zones on machines without a zoneinfo database
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := NewMain()
	if err := m.ParseFlags(ctx, os.Args[1:]); err != nil {
		if errors.Is(err, errHelp) {
			os.Exit(0)
		}
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "beckon:", err)
		os.Exit(2)
	}
	if err := m.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "beckon:", err)
		_ = m.Close()
		os.Exit(1)
	}
	if m.LongRunning() {
		<-ctx.Done()
	}
	if err := m.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "beckon:", err)
		os.Exit(1)
	}
}
