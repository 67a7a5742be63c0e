package conversation

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/beckonhealth/beckon"
)

// ApplyBatch interprets msgs, messages received in that order, and writes
// their effects through q (the caller's transaction), with one result per
// message, in order. The messages go in rounds of at most one message per
// number: a number's next message is read after its previous one's effects
// (the question it left open, its consent) are written. Within a round,
// the answers about appointments go through the decision path together,
// a clinic at a time, and the events are written in one statement.
func (i *Interpreter) ApplyBatch(ctx context.Context, q beckon.Querier, msgs []beckon.InboundSMS) ([]Result, error) {
	out := make([]Result, len(msgs))
	clinics := map[string]beckon.Clinic{}
	for _, round := range rounds(msgs) {
		if err := i.applyRound(ctx, q, msgs, round, clinics, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// rounds splits msgs into rounds of indexes, each holding at most one
// message per clinic's number, a number's messages in order.
func rounds(msgs []beckon.InboundSMS) [][]int {
	type sender struct{ clinic, from string }
	next := map[sender]int{} // the round of a number's next message
	var out [][]int
	for k, m := range msgs {
		s := sender{m.ClinicID, m.From}
		r := next[s]
		if r == len(out) {
			out = append(out, nil)
		}
		out[r] = append(out[r], k)
		next[s] = r + 1
	}
	return out
}

// pending is one message of a round between its decision and its answer.
type pending struct {
	k   int // index in msgs
	e   effects
	o   Outcome
	res Interpretation
	// patientID is who the answer goes to: the message's patient, or the
	// patient of the appointment the reply answered.
	patientID string
}

func (i *Interpreter) applyRound(ctx context.Context, q beckon.Querier, msgs []beckon.InboundSMS, round []int,
	clinics map[string]beckon.Clinic, out []Result) error {
	now := i.Clock.Now()
	ps := make([]pending, 0, len(round))
	// Decide each, and write what the number's next message reads.
	for _, k := range round {
		msg := msgs[k]
		clinic, ok := clinics[msg.ClinicID]
		if !ok {
			var err error
			if clinic, err = q.ClinicGet(ctx, msg.ClinicID); err != nil {
				return fmt.Errorf("load clinic: %w", err)
			}
			clinics[msg.ClinicID] = clinic
		}
		in, lang, err := i.input(ctx, q, msg, now)
		if err != nil {
			return err
		}
		o := Decide(in)
		p := pending{
			k: k, o: o, patientID: msg.PatientID,
			e: effects{q: q, msg: msg, now: now, clinic: clinic, lang: lang},
			res: Interpretation{
				Intent: string(o.Reply.Intent), Keyword: o.Reply.Keyword, Choice: o.Reply.Choice,
				AppointmentID: o.AppointmentID, Response: o.Response, Consent: o.Consent, Note: o.Note,
			},
		}
		if o.Consent != "" {
			if err := p.e.consent(ctx, o.Consent); err != nil {
				return err
			}
		}
		if err := p.e.state(ctx, in.State, o.State); err != nil {
			return err
		}
		ps = append(ps, p)
	}
	if err := i.confirm(ctx, q, ps, out); err != nil {
		return err
	}
	// Answer each; the round's events in one statement.
	var evs []beckon.Event
	for _, p := range ps {
		o, res, r := p.o, p.res, &out[p.k]
		r.NeedsAttention = o.NeedsAttention
		if o.Answer == TemplateWhich {
			res.Question = "which"
		}
		if o.Answer != "" {
			s, err := p.e.answer(ctx, o, p.patientID)
			if err != nil {
				return err
			}
			res.Answer, res.AnswerSendID = o.Answer, s.ID
			r.Sends = append(r.Sends, s)
		}
		if o.Acknowledge {
			s, created, err := p.e.acknowledge(ctx, p.patientID)
			if err != nil {
				return err
			}
			if created {
				res.Acknowledged, res.AnswerSendID = true, s.ID
				r.Sends = append(r.Sends, s)
			}
		}
		ev, err := p.e.event(o, res)
		if err != nil {
			return err
		}
		evs = append(evs, ev)
		r.Interpretation = res
		if r.Detail, err = json.Marshal(res); err != nil {
			return err
		}
	}
	if err := q.EventAppend(ctx, evs...); err != nil {
		return fmt.Errorf("record events: %w", err)
	}
	return nil
}

// confirm records the round's answers about appointments, a clinic at a
// time, through the decision path, and notes who each answer goes to.
func (i *Interpreter) confirm(ctx context.Context, q beckon.Querier, ps []pending, out []Result) error {
	byClinic := map[string][]int{} // clinic → indexes in ps
	var order []string
	for j, p := range ps {
		if p.o.Response == "" {
			continue
		}
		c := p.e.msg.ClinicID
		if _, ok := byClinic[c]; !ok {
			order = append(order, c)
		}
		byClinic[c] = append(byClinic[c], j)
	}
	for _, c := range order {
		idx := byClinic[c]
		cs := make([]beckon.Confirmation, len(idx))
		for n, j := range idx {
			p := ps[j]
			cs[n] = beckon.Confirmation{
				ID: "cnf_" + p.e.suffix(), ClinicID: c, AppointmentID: p.o.AppointmentID,
				Response: p.o.Response, By: "patient", Method: "sms", Actor: "sms-reply",
			}
		}
		rs, err := i.Confirm.ConfirmManyIn(ctx, q, c, cs)
		if err != nil {
			return fmt.Errorf("record the answer: %w", err)
		}
		for n, j := range idx {
			out[ps[j].k].Writebacks = rs[n].Writebacks
			ps[j].patientID = rs[n].Appointment.PatientID
		}
	}
	return nil
}
