package app

import (
	"context"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/conversation"
	"github.com/beckonhealth/beckon/worker"
)

// replies is the worker's interpreter of inbound messages: the
// conversation's rules, applied in the interpretation task's transaction.
func (a *App) replies() worker.Interpreter {
	it := &conversation.Interpreter{Confirm: a.service(), Clock: a.Clock}
	return worker.InterpreterFunc(func(ctx context.Context, q beckon.Querier, m beckon.InboundSMS) (worker.Interpretation, error) {
		r, err := it.Apply(ctx, q, m)
		return worker.Interpretation{
			Intent: r.Interpretation.Intent, Detail: r.Detail, NeedsAttention: r.NeedsAttention,
			Sends: r.Sends, Writebacks: r.Writebacks,
		}, err
	})
}
