package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/beckonhealth/beckon"
)

// ConsentChangeBody is consent obtained outside Beckon (in person, on a
// signed form), as staff or a client system record it.
type ConsentChangeBody struct {
	Channel beckon.Channel `json:"channel" enum:"sms,email" doc:"sms applies to the patient's phone number (every patient sharing it); email to the patient's email address"`
	State   string         `json:"state" enum:"opted_in,opted_out"`
	How     string         `json:"how,omitempty" enum:"staff,api" default:"staff" doc:"staff (the default): obtained in person; api: by a client system"`
	By      string         `json:"by" minLength:"1" maxLength:"200" pattern:"\\S" patternDescription:"not blank" doc:"Who obtained or recorded it, e.g. staff:front-desk"`
	Text    string         `json:"text,omitempty" maxLength:"1000" doc:"What the patient said or signed"`
}

// ConsentEntry is one change in a patient's consent ledger.
type ConsentEntry struct {
	Channel   beckon.Channel `json:"channel"`
	State     string         `json:"state"`
	How       string         `json:"how" doc:"keyword, provider_error, unsubscribe, spam_report, staff or api"`
	Phone     string         `json:"phone,omitempty" doc:"The number an sms change applies to"`
	Email     string         `json:"email,omitempty" doc:"The address an email change applies to"`
	Text      string         `json:"text,omitempty" doc:"The exact text that caused it"`
	MessageID string         `json:"message_id,omitempty" doc:"The message it came from"`
	By        string         `json:"by,omitempty"`
	At        time.Time      `json:"at"`
}

// ConsentView is a patient's current consent and its history.
type ConsentView struct {
	SMS     string         `json:"sms" enum:"unknown,opted_in,opted_out"`
	Email   string         `json:"email" enum:"unknown,opted_in,opted_out"`
	History []ConsentEntry `json:"history" doc:"Oldest first: the patient's own changes and those of their number and address"`
}

type consentInput struct {
	ID   string `path:"id" minLength:"1" maxLength:"128" pattern:"^[A-Za-z0-9._:\\-]+$"`
	Body ConsentChangeBody
}

type consentOutput struct {
	Body ConsentView
}

type consentEntryOutput struct {
	Status int
	Body   ConsentEntry
}

func (s *Server) registerConsent() {
	huma.Register(s.api, op("get-consent", http.MethodGet, "/v1/patients/{id}/consent",
		"A patient's current consent per channel and its ledger", beckon.RoleAdmin, beckon.RoleEHR),
		func(ctx context.Context, in *idPath) (*consentOutput, error) {
			k := keyFrom(ctx)
			p, err := s.store.PatientGet(ctx, k.ClinicID, in.ID)
			if err != nil {
				return nil, s.mapError("get-consent", err)
			}
			h, err := s.store.ConsentHistory(ctx, k.ClinicID, p.ID)
			if err != nil {
				return nil, s.mapError("get-consent", err)
			}
			if err := s.auditRead(ctx, "get-consent", "consent.read", "patient", p.ID, p.ID); err != nil {
				return nil, err
			}
			v := ConsentView{SMS: p.SMSConsent, Email: p.EmailConsent, History: make([]ConsentEntry, len(h))}
			for i, c := range h {
				v.History[i] = consentOut(c)
			}
			return &consentOutput{Body: v}, nil
		})
	huma.Register(s.api, answers(http.StatusCreated, op("post-consent", http.MethodPost, "/v1/patients/{id}/consent",
		"Record consent obtained outside Beckon (in person, on a form), with who obtained it",
		beckon.RoleAdmin, beckon.RoleEHR)),
		func(ctx context.Context, in *consentInput) (*consentEntryOutput, error) {
			k := keyFrom(ctx)
			p, err := s.store.PatientGet(ctx, k.ClinicID, in.ID)
			if err != nil {
				return nil, s.mapError("post-consent", err)
			}
			c := beckon.ConsentChange{
				ID: beckon.NewID("cns_"), ClinicID: k.ClinicID, PatientID: p.ID,
				Channel: in.Body.Channel, State: in.Body.State, How: in.Body.How,
				Text: in.Body.Text, By: in.Body.By, At: s.now(),
			}
			if c.How == "" {
				c.How = beckon.ConsentStaff
			}
			switch c.Channel {
			case beckon.ChannelSMS:
				if c.Phone = p.Phone; c.Phone == "" {
					return nil, invalid("channel", "the patient has no phone number")
				}
			case beckon.ChannelEmail:
				if c.Email = p.Email; c.Email == "" {
					return nil, invalid("channel", "the patient has no email address")
				}
			}
			if err := s.recordConsent(ctx, k, c); err != nil {
				return nil, s.mapError("post-consent", err)
			}
			return &consentEntryOutput{Status: http.StatusCreated, Body: consentOut(c)}, nil
		})
}

// recordConsent appends c to the ledger with an audit entry naming the API
// key that recorded it (ids and states only), in one transaction.
func (s *Server) recordConsent(ctx context.Context, k beckon.APIKey, c beckon.ConsentChange) error {
	return s.store.InTx(ctx, func(q beckon.Querier) error {
		applied, err := q.ConsentRecord(ctx, c)
		if err != nil || !applied {
			return err
		}
		return q.AuditAppend(ctx, beckon.AuditEntry{
			ClinicID: c.ClinicID, Actor: actor(k), Action: "patient.consent_recorded",
			Entity: "patient", EntityID: c.PatientID, At: c.At,
			Detail: fmt.Sprintf(`{"id":%q,"channel":%q,"state":%q,"how":%q}`, c.ID, c.Channel, c.State, c.How),
		})
	})
}

// recordPutConsent records in the ledger the consent a PUT of the patient
// sets, for each channel where it changes the patient's current state.
func (s *Server) recordPutConsent(ctx context.Context, k beckon.APIKey, p beckon.Patient, want ConsentBody) (changed bool, err error) {
	for _, ch := range []struct {
		channel   beckon.Channel
		want, now string
	}{
		{beckon.ChannelSMS, want.SMS, p.SMSConsent},
		{beckon.ChannelEmail, want.Email, p.EmailConsent},
	} {
		if ch.want == "" || ch.want == beckon.ConsentUnknown || ch.want == ch.now {
			continue
		}
		c := beckon.ConsentChange{
			ID: beckon.NewID("cns_"), ClinicID: p.ClinicID, PatientID: p.ID, Channel: ch.channel,
			State: ch.want, How: beckon.ConsentAPI, By: actor(k), At: s.now(),
		}
		if ch.channel == beckon.ChannelSMS {
			c.Phone = p.Phone
		} else {
			c.Email = p.Email
		}
		if err := s.recordConsent(ctx, k, c); err != nil {
			return changed, err
		}
		changed = true
	}
	return changed, nil
}

func consentOut(c beckon.ConsentChange) ConsentEntry {
	return ConsentEntry{
		Channel: c.Channel, State: c.State, How: c.How, Phone: c.Phone, Email: c.Email,
		Text: c.Text, MessageID: c.MessageID, By: c.By, At: c.At,
	}
}

// now is the clock's instant as the store keeps it (UTC, milliseconds).
func (s *Server) now() time.Time { return s.cfg.Clock.Now().UTC().Truncate(time.Millisecond) }
