package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/templates"
)

// CampaignBody is a campaign as a client sends it.
type CampaignBody struct {
	Name   string     `json:"name" minLength:"1" maxLength:"200" pattern:"\\S" patternDescription:"not blank"`
	Active *bool      `json:"active,omitempty" doc:"Default true"`
	Match  *MatchBody `json:"match,omitempty" doc:"Only appointments matching this; omit for all"`
	Steps  []StepBody `json:"steps" minItems:"1" maxItems:"20"`
}

// MatchBody restricts a campaign or step; an empty list matches everything.
type MatchBody struct {
	Types     []string `json:"types,omitempty" maxItems:"100"`
	Providers []string `json:"providers,omitempty" maxItems:"100"`
	Locations []string `json:"locations,omitempty" maxItems:"100"`
}

// StepBody is one step: when (offset, or day and at), how (channel) and what
// (a built-in template, or content per language).
type StepBody struct {
	ID                string                 `json:"id,omitempty" maxLength:"64" pattern:"^[A-Za-z0-9_\\-]+$" doc:"Stable step id; default step-N"`
	Offset            string                 `json:"offset,omitempty" maxLength:"32" pattern:"^[+-]" patternDescription:"signed: -72h (before the start) or +2h (after it)" example:"-24h" doc:"Relative to the start, with its sign: -72h, -90m, -1d before; +2h after"`
	Day               *int                   `json:"day,omitempty" minimum:"-365" maximum:"365" doc:"Day relative to the start's local date (with at)"`
	At                string                 `json:"at,omitempty" example:"09:00" doc:"Local time HH:MM on that day (with day)"`
	Channel           beckon.Channel         `json:"channel" enum:"sms,email,preferred"`
	Template          string                 `json:"template,omitempty" example:"appointment_reminder" doc:"A built-in template: appointment_reminder, appointment_reminder_confirm, appointment_followup, survey_request"`
	Content           map[string]ContentBody `json:"content,omitempty" doc:"Instead of template: content per language tag (Go text/template)"`
	OnlyIfUnconfirmed bool                   `json:"only_if_unconfirmed,omitempty" doc:"Skip when the appointment is confirmed"`
	Match             *MatchBody             `json:"match,omitempty"`
	Fallback          bool                   `json:"fallback,omitempty" doc:"If the provider refuses the message for good or reports it undelivered, send it once on the other channel (the content must render there too)"`
}

// ContentBody is a message's source in one language.
type ContentBody struct {
	Subject string `json:"subject,omitempty" maxLength:"500"`
	Text    string `json:"text" maxLength:"5000"`
	HTML    string `json:"html,omitempty" maxLength:"100000"`
}

// Campaign is a campaign as the API returns it.
type Campaign struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Active    bool       `json:"active"`
	Match     *MatchBody `json:"match,omitempty"`
	Steps     []StepBody `json:"steps"`
	Revision  int64      `json:"revision" doc:"Increases on every change"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

type putCampaignInput struct {
	ID   string `path:"id" minLength:"1" maxLength:"128" pattern:"^[A-Za-z0-9._:\\-]+$" doc:"The id in the EHR (or your own)"`
	Body CampaignBody
}

type campaignOutput struct {
	Status int
	Body   Campaign
}

type campaignListOutput struct {
	Body struct {
		Campaigns []Campaign `json:"campaigns"`
	}
}

func (s *Server) registerCampaigns() {
	huma.Register(s.api, creates(op("put-campaign", http.MethodPut, "/v1/campaigns/{id}", "Create or replace a campaign; upcoming appointments are re-planned")),
		func(ctx context.Context, in *putCampaignInput) (*campaignOutput, error) {
			k := keyFrom(ctx)
			c, err := campaignFromBody(k.ClinicID, in.ID, in.Body)
			if err != nil {
				return nil, err
			}
			saved, outcome, err := s.svc.PutCampaign(ctx, c, actor(k))
			if err != nil {
				return nil, s.mapError("put-campaign", err)
			}
			return &campaignOutput{Status: statusFor(outcome), Body: campaignOut(saved)}, nil
		})
	huma.Register(s.api, op("get-campaign", http.MethodGet, "/v1/campaigns/{id}", "Read a campaign"),
		func(ctx context.Context, in *idPath) (*campaignOutput, error) {
			c, err := s.store.CampaignGet(ctx, keyFrom(ctx).ClinicID, in.ID)
			if err != nil {
				return nil, s.mapError("get-campaign", err)
			}
			return &campaignOutput{Status: http.StatusOK, Body: campaignOut(c)}, nil
		})
	huma.Register(s.api, op("list-campaigns", http.MethodGet, "/v1/campaigns", "List campaigns"),
		func(ctx context.Context, _ *struct{}) (*campaignListOutput, error) {
			cs, err := s.store.CampaignList(ctx, keyFrom(ctx).ClinicID)
			if err != nil {
				return nil, s.mapError("list-campaigns", err)
			}
			out := &campaignListOutput{}
			out.Body.Campaigns = make([]Campaign, len(cs))
			for i, c := range cs {
				out.Body.Campaigns[i] = campaignOut(c)
			}
			return out, nil
		})
	dop := op("delete-campaign", http.MethodDelete, "/v1/campaigns/{id}", "Delete a campaign; its planned sends are superseded")
	dop.DefaultStatus = http.StatusNoContent
	huma.Register(s.api, dop, func(ctx context.Context, in *idPath) (*struct{}, error) {
		k := keyFrom(ctx)
		if err := s.svc.DeleteCampaign(ctx, k.ClinicID, in.ID, actor(k)); err != nil {
			return nil, s.mapError("delete-campaign", err)
		}
		return nil, nil
	})
}

func campaignFromBody(clinicID, id string, b CampaignBody) (beckon.Campaign, error) {
	var fe fieldErrors
	c := beckon.Campaign{ClinicID: clinicID, ID: id, Name: b.Name, Active: b.Active == nil || *b.Active}
	if b.Match != nil {
		c.Match = beckon.Match(*b.Match)
	}
	seen := map[string]int{}
	for i, sb := range b.Steps {
		f := fmt.Sprintf("steps[%d].", i)
		st := beckon.Step{
			ID:                sb.ID,
			Channel:           sb.Channel,
			Template:          sb.Template,
			OnlyIfUnconfirmed: sb.OnlyIfUnconfirmed,
			Fallback:          sb.Fallback,
		}
		if st.ID == "" {
			st.ID = fmt.Sprintf("step-%d", i+1)
		}
		if j, dup := seen[st.ID]; dup {
			fe.add(f+"id", "repeats steps[%d]", j)
		}
		seen[st.ID] = i
		if sb.Match != nil {
			st.Match = beckon.Match(*sb.Match)
		}
		switch {
		case sb.Offset != "" && (sb.Day != nil || sb.At != ""):
			fe.add(f+"offset", "give either offset, or day and at; not both")
		case sb.Offset != "":
			d, err := parseDuration(sb.Offset)
			if err != nil {
				fe.add(f+"offset", "%v", err)
			} else if d < -365*24*time.Hour || d > 365*24*time.Hour {
				fe.add(f+"offset", "must be within a year of the appointment")
			}
			st.Timing = beckon.Timing{Kind: beckon.TimingOffset, Offset: d}
		case sb.Day != nil && sb.At != "":
			m, err := parseClock(sb.At)
			if err != nil {
				fe.add(f+"at", "%v", err)
			}
			st.Timing = beckon.Timing{Kind: beckon.TimingDay, Day: *sb.Day, AtMinute: m}
		case sb.Day != nil:
			fe.add(f+"at", "day needs at, e.g. \"09:00\"")
		case sb.At != "":
			fe.add(f+"day", "at needs day, e.g. -1 for the day before")
		default:
			fe.add(f+"offset", "give offset (e.g. -24h), or day and at (e.g. -1 and 09:00)")
		}
		switch {
		case sb.Template != "" && len(sb.Content) > 0:
			fe.add(f+"template", "give either template or content; not both")
		case sb.Template != "":
			cs, ok := templates.Builtin(sb.Template)
			if !ok {
				fe.add(f+"template", "unknown template; built-in templates are %v", templates.Names())
			} else if err := templates.Validate(sb.Channel, cs); err != nil {
				fe.add(f+"template", "%v", err)
			} else if err := validFallback(sb, cs); err != nil {
				fe.add(f+"fallback", "%v", err)
			}
		case len(sb.Content) > 0:
			st.Content = beckon.Contents{}
			for lang, cb := range sb.Content {
				l, err := normalLanguage(lang)
				if err != nil {
					fe.add(f+"content."+lang, "%v", err)
					continue
				}
				st.Content[l] = beckon.Content(cb)
			}
			if err := templates.Validate(sb.Channel, st.Content); err != nil {
				fe.add(f+"content", "%v", err)
			} else if err := validFallback(sb, st.Content); err != nil {
				fe.add(f+"fallback", "%v", err)
			}
		default:
			fe.add(f+"template", "give a template or content")
		}
		c.Steps = append(c.Steps, st)
	}
	return c, fe.err()
}

func campaignOut(c beckon.Campaign) Campaign {
	out := Campaign{
		ID:        c.ID,
		Name:      c.Name,
		Active:    c.Active,
		Revision:  c.Revision,
		CreatedAt: c.CreatedAt,
		UpdatedAt: c.UpdatedAt,
		Steps:     make([]StepBody, len(c.Steps)),
	}
	if m := matchOut(c.Match); m != nil {
		out.Match = m
	}
	for i, st := range c.Steps {
		sb := StepBody{
			ID:                st.ID,
			Channel:           st.Channel,
			Template:          st.Template,
			OnlyIfUnconfirmed: st.OnlyIfUnconfirmed,
			Match:             matchOut(st.Match),
			Fallback:          st.Fallback,
		}
		switch st.Timing.Kind {
		case beckon.TimingDay:
			day := st.Timing.Day
			sb.Day, sb.At = &day, formatClock(st.Timing.AtMinute)
		default:
			sb.Offset = formatOffset(st.Timing.Offset)
		}
		if len(st.Content) > 0 {
			sb.Content = map[string]ContentBody{}
			for l, ct := range st.Content {
				sb.Content[l] = ContentBody(ct)
			}
		}
		out.Steps[i] = sb
	}
	return out
}

func matchOut(m beckon.Match) *MatchBody {
	if len(m.Types)+len(m.Providers)+len(m.Locations) == 0 {
		return nil
	}
	mb := MatchBody(m)
	return &mb
}

// validFallback checks that a step with fallback renders on the other channel
// (an SMS step falling back to email needs a subject).
func validFallback(sb StepBody, cs beckon.Contents) error {
	if !sb.Fallback {
		return nil
	}
	others := []beckon.Channel{beckon.ChannelSMS, beckon.ChannelEmail}
	switch sb.Channel {
	case beckon.ChannelSMS:
		others = []beckon.Channel{beckon.ChannelEmail}
	case beckon.ChannelEmail:
		others = []beckon.Channel{beckon.ChannelSMS}
	}
	for _, ch := range others {
		if err := templates.Validate(ch, cs); err != nil {
			return fmt.Errorf("the content cannot fall back to %s: %w", ch, err)
		}
	}
	return nil
}
