package api

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/channels/routing"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/tasks"
)

// answerWindow: a message to a patient within this long of the patient's
// own last message answers it, and may go in quiet hours.
const answerWindow = 24 * time.Hour

// Inbound is an inbound message with what Beckon made of it.
type Inbound struct {
	ID             string          `json:"id"`
	PatientID      string          `json:"patient_id,omitempty" doc:"Empty when no single patient of the clinic has the number"`
	From           string          `json:"from"`
	To             string          `json:"to"`
	Body           string          `json:"body"`
	OptOutType     string          `json:"opt_out_type,omitempty" doc:"Twilio's OptOutType when Twilio handled a keyword"`
	ReceivedAt     time.Time       `json:"received_at"`
	Interpreted    bool            `json:"interpreted"`
	Intent         string          `json:"intent,omitempty"`
	Interpretation json.RawMessage `json:"interpretation,omitempty"`
	NeedsAttention bool            `json:"needs_attention"`
	HandledBy      string          `json:"handled_by,omitempty"`
	HandledAt      *time.Time      `json:"handled_at,omitempty"`
}

func inboundOut(m beckon.InboundSMS) Inbound {
	o := Inbound{
		ID: m.ID, PatientID: m.PatientID, From: m.From, To: m.To, Body: m.Body, OptOutType: m.OptOutType,
		ReceivedAt: m.ReceivedAt, Interpreted: !m.InterpretedAt.IsZero(), Intent: m.Intent,
		NeedsAttention: m.NeedsAttention, HandledBy: m.HandledBy,
	}
	if json.Valid(m.Interpretation) {
		o.Interpretation = m.Interpretation
	}
	if !m.HandledAt.IsZero() {
		t := m.HandledAt
		o.HandledAt = &t
	}
	return o
}

// ConversationEntry is one message of a conversation: a message of the log,
// and for an inbound one what Beckon made of it.
type ConversationEntry struct {
	Message
	Inbound *Inbound `json:"inbound,omitempty"`
}

type conversationInput struct {
	ID    string `path:"id" minLength:"1" maxLength:"128" pattern:"^[A-Za-z0-9._:\\-]+$"`
	Limit int    `query:"limit" minimum:"1" maximum:"500" default:"100" doc:"The latest this many messages"`
}

type conversationOutput struct {
	Body struct {
		Messages []ConversationEntry `json:"messages" doc:"Oldest first"`
	}
}

type inboxInput struct {
	NeedsAttention bool `query:"needs_attention" default:"true" doc:"Only messages a person must read and nobody handled yet (the only list for now)"`
	Limit          int  `query:"limit" minimum:"1" maximum:"500" default:"100"`
}

type inboxOutput struct {
	Body struct {
		Messages []Inbound `json:"messages" doc:"Newest first"`
	}
}

type handledInput struct {
	MessageID string `path:"message_id" minLength:"1" maxLength:"64" pattern:"^[A-Za-z0-9_]+$"`
	Body      struct {
		By string `json:"by" minLength:"1" maxLength:"128" pattern:"\\S" patternDescription:"not blank" doc:"Who handled it"`
	}
}

type inboundOutput struct {
	Body Inbound
}

type staffMessageInput struct {
	ID   string `path:"id" minLength:"1" maxLength:"128" pattern:"^[A-Za-z0-9._:\\-]+$"`
	Body struct {
		Text string `json:"text" minLength:"1" maxLength:"6400" pattern:"\\S" patternDescription:"not blank" doc:"At most 1,600 characters"`
		By   string `json:"by" minLength:"1" maxLength:"128" pattern:"\\S" patternDescription:"not blank" doc:"Who is sending it"`
	}
}

// MessageSend is a planned message that is not a campaign step.
type MessageSend struct {
	Send
	QuietExempt bool `json:"quiet_exempt" doc:"It answers the patient's own message of the last 24 hours: it may go in quiet hours"`
}

type messageSendOutput struct {
	Status int
	Body   MessageSend
}

type outboxReplyInput struct {
	Body struct {
		From string `json:"from" minLength:"1" maxLength:"32" pattern:"\\S" patternDescription:"not blank" doc:"The patient's number, E.164"`
		Body string `json:"body" maxLength:"6400"`
		To   string `json:"to,omitempty" maxLength:"32" doc:"The clinic's number; default its configured sender"`
	}
}

type outboxReplyOutput struct {
	Status int
	Body   Inbound
}

func (s *Server) registerConversation() {
	huma.Register(s.api, op("get-conversation", http.MethodGet, "/v1/patients/{id}/conversation",
		"A patient's messages in and out (SMS and email), oldest first, each inbound one with its interpretation"),
		func(ctx context.Context, in *conversationInput) (*conversationOutput, error) {
			clinicID := keyFrom(ctx).ClinicID
			if _, err := s.store.PatientGet(ctx, clinicID, in.ID); err != nil {
				return nil, s.mapError("get-conversation", err)
			}
			ms, err := s.store.MessageList(ctx, beckon.MessageFilter{ClinicID: clinicID, PatientID: in.ID, Limit: in.Limit})
			if err != nil {
				return nil, s.mapError("get-conversation", err)
			}
			var inboundIDs []string
			for _, m := range ms {
				if m.Direction == beckon.Inbound {
					inboundIDs = append(inboundIDs, m.ID)
				}
			}
			ins, err := s.store.InboundSMSGetMany(ctx, clinicID, inboundIDs)
			if err != nil {
				return nil, s.mapError("get-conversation", err)
			}
			if err := s.auditRead(ctx, "get-conversation", "conversation.read", "patient", in.ID, in.ID); err != nil {
				return nil, err
			}
			out := &conversationOutput{}
			out.Body.Messages = make([]ConversationEntry, 0, len(ms))
			for _, m := range slices.Backward(ms) {
				e := ConversationEntry{Message: messageOut(m)}
				if im, ok := ins[m.ID]; ok {
					o := inboundOut(im)
					e.Inbound = &o
				}
				out.Body.Messages = append(out.Body.Messages, e)
			}
			return out, nil
		})
	huma.Register(s.api, op("list-inbox", http.MethodGet, "/v1/inbox",
		"Inbound messages a person must read (unknown numbers included), newest first"),
		func(ctx context.Context, in *inboxInput) (*inboxOutput, error) {
			if !in.NeedsAttention {
				return nil, invalid("needs_attention", "only needs_attention=true is supported")
			}
			ms, err := s.store.InboundSMSListNeedsAttention(ctx, keyFrom(ctx).ClinicID, in.Limit)
			if err != nil {
				return nil, s.mapError("list-inbox", err)
			}
			out := &inboxOutput{}
			out.Body.Messages = make([]Inbound, len(ms))
			patients := make([]string, len(ms))
			for i, m := range ms {
				out.Body.Messages[i] = inboundOut(m)
				patients[i] = m.PatientID
			}
			if err := s.auditReadPatients(ctx, "list-inbox", "inbox.list", "inbound_message", patients); err != nil {
				return nil, err
			}
			return out, nil
		})
	huma.Register(s.api, op("handle-inbox-message", http.MethodPost, "/v1/inbox/{message_id}/handled",
		"Mark an inbound message handled; it leaves the inbox"),
		func(ctx context.Context, in *handledInput) (*inboundOutput, error) {
			m, err := s.store.InboundSMSHandled(ctx, keyFrom(ctx).ClinicID, in.MessageID, in.Body.By, s.cfg.Clock.Now())
			if err != nil {
				return nil, s.mapError("handle-inbox-message", err)
			}
			return &inboundOutput{Body: inboundOut(m)}, nil
		})
	huma.Register(s.api, accepted(op("send-patient-message", http.MethodPost, "/v1/patients/{id}/messages",
		"Send the patient a free-text SMS; consent and quiet hours apply (an answer within 24 hours of the patient's own message may go in quiet hours)")),
		s.sendPatientMessage)
	huma.Register(s.api, accepted(op("post-outbox-reply", http.MethodPost, "/v1/outbox/replies",
		"Enter a patient's SMS reply as if it came from Twilio (only while the clinic's SMS channel is the outbox)")),
		s.outboxReply)
}

// accepted answers 202.
func accepted(o huma.Operation) huma.Operation {
	o.DefaultStatus = http.StatusAccepted
	return o
}

func (s *Server) sendPatientMessage(ctx context.Context, in *staffMessageInput) (*messageSendOutput, error) {
	clinicID := keyFrom(ctx).ClinicID
	p, err := s.store.PatientGet(ctx, clinicID, in.ID)
	if err != nil {
		return nil, s.mapError("send-patient-message", err)
	}
	now := s.cfg.Clock.Now()
	params := beckon.MessageSendParams{
		ID: beckon.NewID("snd_msg_"), ClinicID: clinicID, PatientID: p.ID, Channel: beckon.ChannelSMS,
		Text: in.Body.Text, By: in.Body.By, DueAt: now,
	}
	if err := params.Validate(); err != nil {
		return nil, invalid("text", "%s", err.Error())
	}
	switch {
	case p.Phone == "":
		return nil, newError(http.StatusConflict, CodeConflict, "the patient has no phone number")
	case p.SMSConsent == beckon.ConsentOptedOut:
		return nil, newError(http.StatusConflict, CodeConflict, "the patient opted out of SMS")
	}
	last, err := s.store.InboundSMSLastFrom(ctx, clinicID, p.ID)
	if err != nil {
		return nil, s.mapError("send-patient-message", err)
	}
	params.QuietExempt = !last.IsZero() && now.Sub(last) < answerWindow
	sd, _, err := s.store.SendPlanMessage(ctx, params)
	if err != nil {
		return nil, s.mapError("send-patient-message", err)
	}
	if err := scheduler.EnqueueSend(ctx, s.cfg.Tasks, s.store, sd, s.workQueue(), cmp.Or(s.cfg.Delivery.MaxRetry, 10), now); err != nil {
		s.logger.Warn("staff message planned but not queued; the pump queues it",
			slog.String("send_id", sd.ID), slog.String("error", err.Error()))
	}
	s.logger.Info("staff message planned", slog.String("clinic_id", clinicID), slog.String("send_id", sd.ID),
		slog.Int("body_size", len(params.Text)), slog.Bool("quiet_exempt", params.QuietExempt))
	return &messageSendOutput{Status: http.StatusAccepted, Body: MessageSend{Send: sendOut(sd), QuietExempt: params.QuietExempt}}, nil
}

func (s *Server) outboxReply(ctx context.Context, in *outboxReplyInput) (*outboxReplyOutput, error) {
	clinicID := keyFrom(ctx).ClinicID
	var fe fieldErrors
	if err := validPhone(in.Body.From); err != nil {
		fe.add("from", "%v", err)
	}
	if in.Body.To != "" {
		if err := validPhone(in.Body.To); err != nil {
			fe.add("to", "%v", err)
		}
	}
	if clean(in.Body.Body, maxInboundBody) != in.Body.Body {
		fe.add("body", "holds a NUL character or invalid UTF-8")
	}
	if err := fe.err(); err != nil {
		return nil, err
	}
	cs, err := s.store.ChannelSettingsGet(ctx, clinicID)
	if err != nil && !errors.Is(err, beckon.ErrNotFound) {
		return nil, s.mapError("post-outbox-reply", err)
	}
	if !s.smsIsOutbox(cs) {
		return nil, newError(http.StatusConflict, CodeConflict, "the clinic's SMS channel is not the outbox: replies come through Twilio")
	}
	m, err := s.receiveSMS(ctx, beckon.InboundSMS{
		ClinicID:   clinicID,
		Channel:    beckon.ChannelSMS,
		Provider:   tasks.ProviderTwilio,
		ProviderID: outboxSID(),
		From:       in.Body.From,
		To:         cmp.Or(in.Body.To, cs.TwilioFrom, s.cfg.Delivery.TwilioFrom),
		Body:       in.Body.Body,
	})
	if err != nil {
		return nil, s.mapError("post-outbox-reply", err)
	}
	return &outboxReplyOutput{Status: http.StatusAccepted, Body: inboundOut(m)}, nil
}

// smsIsOutbox reports whether the clinic's SMS goes to the outbox (as the
// channel router decides): BECKON_CHANNEL=outbox, or auto with no Twilio
// account, the clinic's or the installation's.
func (s *Server) smsIsOutbox(cs beckon.ChannelSettings) bool {
	switch s.cfg.Delivery.ChannelMode {
	case routing.ModeOutbox:
		return true
	case routing.ModeProviders:
		return false
	}
	return cs.TwilioAccountSID == "" && s.cfg.Delivery.TwilioAccountSID == ""
}
