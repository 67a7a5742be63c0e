package app

import (
	"context"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/conversation"
	"github.com/beckonhealth/beckon/worker"
)

// replies is the worker's interpreter of inbound messages: the
// conversation's rules, applied in the interpretation task's transaction
// (several messages at once when their tasks run together).
func (a *App) replies() worker.Interpreter {
	return replyInterpreter{it: &conversation.Interpreter{Confirm: a.service(), Clock: a.Clock}}
}

// replyInterpreter adapts conversation.Interpreter to worker.BatchInterpreter.
type replyInterpreter struct{ it *conversation.Interpreter }

func (r replyInterpreter) Interpret(ctx context.Context, q beckon.Querier, m beckon.InboundSMS) (worker.Interpretation, error) {
	out, err := r.InterpretBatch(ctx, q, []beckon.InboundSMS{m})
	if err != nil {
		return worker.Interpretation{}, err
	}
	return out[0], nil
}

func (r replyInterpreter) InterpretBatch(ctx context.Context, q beckon.Querier, msgs []beckon.InboundSMS) ([]worker.Interpretation, error) {
	rs, err := r.it.ApplyBatch(ctx, q, msgs)
	if err != nil {
		return nil, err
	}
	out := make([]worker.Interpretation, len(rs))
	for k, res := range rs {
		out[k] = worker.Interpretation{
			Intent: res.Interpretation.Intent, Detail: res.Detail, NeedsAttention: res.NeedsAttention,
			Sends: res.Sends, Writebacks: res.Writebacks,
		}
	}
	return out, nil
}
