package feeds

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/ehr"
)

// FHIRNotifyResult is what a notification applied.
type FHIRNotifyResult struct {
	Applied int // appointments
}

// notification is an R4 Subscriptions backport notification as read here.
type notification struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Entry        []struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
		Request  *struct {
			URL string `json:"url"`
		} `json:"request"`
	} `json:"entry"`
}

// Notify applies an R4 Subscriptions backport notification (a history
// Bundle whose first entry is the SubscriptionStatus): full-resource
// Appointment entries are applied as sent, id-only entries are fetched from
// the clinic's FHIR base, other resources are skipped. Each entry applies on
// its own; when any fails the error is the last failure's (an
// *ehr.FHIRError, or ErrFHIRUnavailable), the others staying applied.
func (p *FHIRProcessor) Notify(ctx context.Context, in FHIRInput) (FHIRNotifyResult, error) {
	var nb notification
	if err := json.Unmarshal(in.Raw, &nb); err != nil || nb.ResourceType != "Bundle" {
		p.archive(ctx, in, http.StatusBadRequest, beckon.FeedRejected, "not a Bundle", "")
		return FHIRNotifyResult{}, &ehr.FHIRError{Code: "structure", Reason: "expected a notification Bundle"}
	}
	if nb.Type != "history" && nb.Type != "subscription-notification" {
		p.archive(ctx, in, http.StatusUnprocessableEntity, beckon.FeedRejected, "Bundle.type", "")
		return FHIRNotifyResult{}, &ehr.FHIRError{Code: "value", Expression: "Bundle.type", Reason: "a notification Bundle has type history"}
	}
	applied, worst := 0, http.StatusOK
	var lastErr error
	failed := func(err error) {
		lastErr, worst = err, max(worst, entryStatus(err))
	}
	for i, e := range nb.Entry {
		raw := e.Resource
		if len(raw) > 0 {
			var head struct {
				ResourceType string `json:"resourceType"`
			}
			_ = json.Unmarshal(raw, &head)
			if head.ResourceType != "Appointment" {
				continue // the SubscriptionStatus (Parameters), or another type
			}
		} else {
			id := notifiedID(e.FullURL, e.Request)
			if id == "" || !ehr.ValidID(id) {
				continue
			}
			b, err := p.fetch(ctx, in.ClinicID, "Appointment/"+id)
			if err != nil {
				failed(&ehr.FHIRError{Code: "not-found", Expression: fmt.Sprintf("Bundle.entry[%d].fullUrl", i), Reason: err.Error()})
				continue
			}
			raw = b
		}
		fa, err := ehr.MapFHIRAppointment(raw, in.Location, nil)
		if err == nil && !ehr.ValidID(fa.Appointment.ID) {
			err = &ehr.FHIRError{Code: "required", Expression: "Appointment.id", Reason: "the Appointment needs the EHR's id"}
		}
		if err != nil {
			failed(err)
			continue
		}
		sub := in
		sub.Raw = raw
		if _, err := p.apply(ctx, sub, fa, fmt.Sprintf("Bundle.entry[%d].resource", i)); err != nil {
			failed(err)
			continue
		}
		applied++
	}
	if lastErr != nil {
		p.archive(ctx, in, worst, beckon.FeedRejected, lastErr.Error(), "")
		return FHIRNotifyResult{Applied: applied}, lastErr
	}
	p.archive(ctx, in, http.StatusOK, beckon.FeedApplied, "", "")
	return FHIRNotifyResult{Applied: applied}, nil
}

// notifiedID is the Appointment id an id-only entry names (its fullUrl,
// else its request's url), or "".
func notifiedID(fullURL string, req *struct {
	URL string `json:"url"`
}) string {
	ref := fullURL
	if ref == "" && req != nil {
		ref = req.URL
	}
	_, rest, ok := strings.Cut(ref, "Appointment/")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, "/")
	return id
}
