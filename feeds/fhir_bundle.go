package feeds

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/ehr"
	"github.com/beckonhealth/beckon/scheduler"
)

// FHIRBundleResult is what became of a transaction or batch Bundle: the
// type of the response Bundle and one result per entry, in request order.
type FHIRBundleResult struct {
	ResponseType string // transaction-response or batch-response
	Entries      []FHIREntryResult
}

// FHIREntryResult is one entry's response: its status (201 when it created
// the patient or appointment, 200, or 422/503 with Err), where the resource
// now is (Patient/id, Appointment/id/_history/version) and an
// Appointment's version as an ETag.
type FHIREntryResult struct {
	Status   int
	Location string
	ETag     string
	Err      error // *ehr.FHIRError, ErrFHIRUnavailable or another refusal
}

// Bundle applies a transaction or batch Bundle of Patients and Appointments
// as FHIR R4 processes one (ehr.MapFHIRBundle): each entry's identity from
// its request (create, conditional create, update, conditional update by
// identifier), references between entries resolved, the entries applied in
// processing order and answered in request order, and archives the request.
//
// A transaction is atomic: every entry is applied in one store transaction
// (scheduler.ApplyEvents), or, when any fails, none is and the error names
// the entry (an *ehr.FHIRError, or ErrFHIRUnavailable). A batch applies each
// entry on its own and never fails: each entry's result says what became of
// it. An unreadable bundle is an *ehr.FHIRError.
func (p *FHIRProcessor) Bundle(ctx context.Context, in FHIRInput) (FHIRBundleResult, error) {
	b, err := ehr.MapFHIRBundle(in.Raw, in.Location)
	if err != nil {
		p.archive(ctx, in, FHIRStatus(err), beckon.FeedRejected, err.Error(), "")
		return FHIRBundleResult{}, err
	}
	if b.Type == "transaction" {
		return p.transaction(ctx, in, b)
	}
	return p.batch(ctx, in, b), nil
}

// batch applies each entry of a batch Bundle on its own.
func (p *FHIRProcessor) batch(ctx context.Context, in FHIRInput, b ehr.FHIRBundle) FHIRBundleResult {
	out := make([]FHIREntryResult, len(b.Entries))
	worst := http.StatusOK
	for _, i := range b.ProcessingOrder() {
		step, expr, err := p.bundleStep(ctx, in, b, i)
		if err == nil {
			var res []scheduler.FeedStepResult
			if res, err = p.Service.ApplyEvents(ctx, in.ClinicID, []scheduler.FeedStep{step}, in.Actor); err == nil {
				out[i] = stepResult(step, res[0])
				continue
			}
			err = p.applyError(in, err, expr)
		}
		status := entryStatus(err)
		worst = max(worst, status)
		out[i] = FHIREntryResult{Status: status, Err: err}
	}
	result := beckon.FeedApplied
	if worst >= 400 {
		result = beckon.FeedRejected
		if worst >= 500 {
			result = beckon.FeedError
		}
	}
	p.archive(ctx, in, worst, result, "", "")
	return FHIRBundleResult{ResponseType: "batch-response", Entries: out}
}

// transaction applies every entry of a transaction Bundle in one store
// transaction, in processing order. Patients missing from Beckon are
// fetched from the EHR first (outside the transaction); then all entries
// are applied, or none.
func (p *FHIRProcessor) transaction(ctx context.Context, in FHIRInput, b ehr.FHIRBundle) (FHIRBundleResult, error) {
	fail := func(err error) (FHIRBundleResult, error) {
		if errors.Is(err, ErrFHIRUnavailable) {
			p.archive(ctx, in, http.StatusServiceUnavailable, beckon.FeedError, "", "")
		} else {
			p.archive(ctx, in, http.StatusUnprocessableEntity, beckon.FeedRejected, fmt.Sprint(err), "")
		}
		return FHIRBundleResult{}, err
	}
	order := b.ProcessingOrder()
	steps := make([]scheduler.FeedStep, len(order))
	exprs := make([]string, len(order))
	for k, i := range order {
		step, expr, err := p.bundleStep(ctx, in, b, i)
		if err != nil {
			return fail(err)
		}
		steps[k], exprs[k] = step, expr
	}
	results, err := p.Service.ApplyEvents(ctx, in.ClinicID, steps, in.Actor)
	if err != nil {
		var se *scheduler.FeedStepError
		expr := ""
		if errors.As(err, &se) && se.Index < len(exprs) {
			expr = exprs[se.Index]
		}
		return fail(p.applyError(in, err, expr))
	}
	out := make([]FHIREntryResult, len(b.Entries))
	for k, res := range results {
		out[order[k]] = stepResult(steps[k], res)
	}
	p.archive(ctx, in, http.StatusOK, beckon.FeedApplied, "", "")
	return FHIRBundleResult{ResponseType: "transaction-response", Entries: out}, nil
}

// bundleStep is entry i as a feed step, with the expression of its
// patient (for errors), or the error that keeps it from being applied. An
// Appointment whose patient is not in the bundle has it looked up, or
// fetched from the EHR.
func (p *FHIRProcessor) bundleStep(ctx context.Context, in FHIRInput, b ehr.FHIRBundle, i int) (scheduler.FeedStep, string, error) {
	e := b.Entries[i]
	step := scheduler.FeedStep{IfNoneExist: e.IfNoneExist}
	switch {
	case e.Err != nil:
		return step, "", e.Err
	case e.Patient != nil:
		pat := feedPatient(*e.Patient, e.ID)
		step.Patient = &pat
		return step, "", nil
	}
	fa := *e.Appointment
	prefix := fmt.Sprintf("Bundle.entry[%d].resource", i)
	if e.PatientEntry >= 0 && b.Entries[e.PatientEntry].IfNoneExist {
		// A conditional create of the patient, processed before this entry:
		// the appointment names the patient and leaves its data to that entry.
		fa.Patient = nil
		ev := feedEvent(in, fa)
		step.Event = &ev
		return step, fmt.Sprintf("%s.participant[%d].actor", prefix, fa.PatientIndex), nil
	}
	ev, expr, err := p.event(ctx, in, fa, prefix)
	step.Event = &ev
	return step, expr, err
}

// stepResult is the result of an applied entry: 201 when it created the
// patient or appointment, else 200, with where it now is.
func stepResult(step scheduler.FeedStep, res scheduler.FeedStepResult) FHIREntryResult {
	out := FHIREntryResult{Status: http.StatusOK}
	switch {
	case step.Patient != nil:
		out.Location = "Patient/" + res.Patient.ID
		if res.PatientOutcome == scheduler.Created {
			out.Status = http.StatusCreated
		}
	case res.Feed.Appointment.ID != "" && res.Feed.Result != beckon.FeedTombstone:
		out.Location = fmt.Sprintf("Appointment/%s/_history/%d", res.Feed.Appointment.ID, res.Feed.Appointment.Version)
		out.ETag = fmt.Sprintf(`W/"%d"`, res.Feed.Appointment.Version)
		if res.Feed.Outcome == scheduler.Created {
			out.Status = http.StatusCreated
		}
	}
	return out
}
