package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/beckonhealth/beckon"
)

// Message is one message of the log.
type Message struct {
	ID            string         `json:"id"`
	PatientID     string         `json:"patient_id"`
	AppointmentID string         `json:"appointment_id,omitempty"`
	SendID        string         `json:"send_id,omitempty"`
	Direction     string         `json:"direction" enum:"outbound,inbound"`
	Channel       beckon.Channel `json:"channel" enum:"sms,email"`
	To            string         `json:"to"`
	From          string         `json:"from,omitempty"`
	Subject       string         `json:"subject,omitempty"`
	Body          string         `json:"body"`
	HTML          string         `json:"html,omitempty"`
	Status        string         `json:"status"`
	Provider      string         `json:"provider"`
	ProviderID    string         `json:"provider_id,omitempty"`
	CreatedAt     time.Time      `json:"created_at"`
	Events        []MessageEvent `json:"events,omitempty"`
}

// MessageEvent is one status change.
type MessageEvent struct {
	Status string    `json:"status"`
	Detail string    `json:"detail,omitempty"`
	At     time.Time `json:"at"`
}

type listMessagesInput struct {
	PatientID     string         `query:"patient_id" maxLength:"128"`
	AppointmentID string         `query:"appointment_id" maxLength:"128"`
	SendID        string         `query:"send_id" maxLength:"64"`
	Direction     string         `query:"direction" enum:"outbound,inbound"`
	Channel       beckon.Channel `query:"channel" enum:"sms,email"`
	Status        string         `query:"status" enum:"queued,sent,delivered,undelivered,failed,received"`
	Since         string         `query:"since" example:"2026-01-01T00:00:00Z" doc:"RFC 3339: created at or after"`
	Until         string         `query:"until" doc:"RFC 3339: created before"`
	Before        string         `query:"before" maxLength:"64" doc:"Cursor: the next_before of the previous page"`
	Limit         int            `query:"limit" minimum:"1" maximum:"500" default:"100"`
}

type listMessagesOutput struct {
	Body struct {
		Messages   []Message `json:"messages"`
		NextBefore string    `json:"next_before,omitempty" doc:"Pass as before for the next (older) page"`
	}
}

type messageOutput struct {
	// Body is the message, and for an inbound one what Beckon made of it.
	Body ConversationEntry
}

// OutboxEntry is a message the outbox channel "delivered".
type OutboxEntry struct {
	ID      string         `json:"id"`
	SendID  string         `json:"send_id"`
	Channel beckon.Channel `json:"channel"`
	To      string         `json:"to"`
	Subject string         `json:"subject,omitempty"`
	Body    string         `json:"body"`
	HTML    string         `json:"html,omitempty"`
	// Headers are an email's extra mail headers (List-Unsubscribe…).
	Headers   map[string]string `json:"headers,omitempty" doc:"An email's extra mail headers, e.g. List-Unsubscribe"`
	CreatedAt time.Time         `json:"created_at" doc:"When it was delivered"`
}

type listOutboxInput struct {
	To    string `query:"to" maxLength:"254" doc:"A phone number or email address"`
	Since string `query:"since" doc:"RFC 3339: delivered at or after"`
	Limit int    `query:"limit" minimum:"1" maximum:"500" default:"100"`
}

type listOutboxOutput struct {
	Body struct {
		Entries []OutboxEntry `json:"entries"`
	}
}

func (s *Server) registerMessages() {
	huma.Register(s.api, op("list-messages", http.MethodGet, "/v1/messages", "List messages, newest first"),
		func(ctx context.Context, in *listMessagesInput) (*listMessagesOutput, error) {
			var fe fieldErrors
			f := beckon.MessageFilter{
				ClinicID:      keyFrom(ctx).ClinicID,
				PatientID:     in.PatientID,
				AppointmentID: in.AppointmentID,
				SendID:        in.SendID,
				Direction:     in.Direction,
				Channel:       in.Channel,
				Status:        in.Status,
				Before:        in.Before,
				Limit:         in.Limit,
			}
			f.Since = optionalInstant("since", in.Since, &fe)
			f.Until = optionalInstant("until", in.Until, &fe)
			if err := fe.err(); err != nil {
				return nil, err
			}
			ms, err := s.store.MessageList(ctx, f)
			if err != nil {
				return nil, s.mapError("list-messages", err)
			}
			out := &listMessagesOutput{}
			out.Body.Messages = make([]Message, len(ms))
			patients := make([]string, len(ms))
			for i, m := range ms {
				out.Body.Messages[i] = messageOut(m)
				patients[i] = m.PatientID
			}
			if err := s.auditReadPatients(ctx, "list-messages", "message.list", "message", patients); err != nil {
				return nil, err
			}
			if len(ms) == f.Limit && len(ms) > 0 {
				out.Body.NextBefore = ms[len(ms)-1].ID
			}
			return out, nil
		})
	huma.Register(s.api, op("get-message", http.MethodGet, "/v1/messages/{id}", "Read a message with its status history"),
		func(ctx context.Context, in *idPath) (*messageOutput, error) {
			m, err := s.store.MessageGet(ctx, keyFrom(ctx).ClinicID, in.ID)
			if err != nil {
				return nil, s.mapError("get-message", err)
			}
			out := &messageOutput{Body: ConversationEntry{Message: messageOut(m)}}
			if m.Direction == beckon.Inbound {
				in, err := s.store.InboundSMSGet(ctx, m.ClinicID, m.ID)
				switch {
				case err == nil:
					v := inboundOut(in)
					out.Body.Inbound = &v
				case !errors.Is(err, beckon.ErrNotFound):
					return nil, s.mapError("get-message", err)
				}
			}
			if err := s.auditRead(ctx, "get-message", "message.read", "message", m.ID, m.PatientID); err != nil {
				return nil, err
			}
			return out, nil
		})
	huma.Register(s.api, op("list-outbox", http.MethodGet, "/v1/outbox", "What the outbox channel delivered, oldest first (development)"),
		func(ctx context.Context, in *listOutboxInput) (*listOutboxOutput, error) {
			var fe fieldErrors
			f := beckon.OutboxFilter{ClinicID: keyFrom(ctx).ClinicID, To: in.To, Limit: in.Limit}
			f.Since = optionalInstant("since", in.Since, &fe)
			if err := fe.err(); err != nil {
				return nil, err
			}
			es, err := s.store.OutboxList(ctx, f)
			if err != nil {
				return nil, s.mapError("list-outbox", err)
			}
			if len(es) > 0 {
				// Outbox entries name a send, not a patient.
				if err := s.auditRead(ctx, "list-outbox", "outbox.list", "outbox", "", ""); err != nil {
					return nil, err
				}
			}
			out := &listOutboxOutput{}
			out.Body.Entries = make([]OutboxEntry, len(es))
			for i, e := range es {
				out.Body.Entries[i] = OutboxEntry{
					ID: e.ID, SendID: e.SendID, Channel: e.Channel, To: e.To,
					Subject: e.Subject, Body: e.Body, HTML: e.HTML, Headers: e.Headers, CreatedAt: e.CreatedAt,
				}
			}
			return out, nil
		})
}

func optionalInstant(field, v string, fe *fieldErrors) time.Time {
	if v == "" {
		return time.Time{}
	}
	t, err := parseInstant(v)
	if err != nil {
		fe.add(field, "%v", err)
	}
	return t
}

func messageOut(m beckon.Message) Message {
	out := Message{
		ID:            m.ID,
		PatientID:     m.PatientID,
		AppointmentID: m.AppointmentID,
		SendID:        m.SendID,
		Direction:     m.Direction,
		Channel:       m.Channel,
		To:            m.To,
		From:          m.From,
		Subject:       m.Subject,
		Body:          m.Body,
		HTML:          m.HTML,
		Status:        m.Status,
		Provider:      m.Provider,
		ProviderID:    m.ProviderID,
		CreatedAt:     m.CreatedAt,
	}
	for _, e := range m.Events {
		out.Events = append(out.Events, MessageEvent{Status: e.Status, Detail: e.Detail, At: e.At})
	}
	return out
}
