package api

import (
	"context"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"

	"github.com/beckonhealth/beckon"
)

// Clinic is the key's clinic and its settings.
type Clinic struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	TimeZone   string            `json:"time_zone"`
	Phone      string            `json:"phone,omitempty"`
	QuietHours QuietHoursBody    `json:"quiet_hours"`
	InboxHours map[string]string `json:"inbox_hours,omitempty"`
	UpdatedAt  time.Time         `json:"updated_at"`
}

// QuietHoursBody is the window, in each patient's local time, in which nothing is sent.
type QuietHoursBody struct {
	Enabled bool   `json:"enabled"`
	Start   string `json:"start,omitempty" example:"21:00" doc:"HH:MM, default 21:00"`
	End     string `json:"end,omitempty" example:"08:00" doc:"HH:MM, default 08:00"`
}

// ClinicBody changes the clinic's settings.
type ClinicBody struct {
	Name       string            `json:"name" minLength:"1" maxLength:"200" pattern:"\\S" patternDescription:"not blank"`
	TimeZone   string            `json:"time_zone" example:"America/New_York" doc:"IANA zone, the default for patients"`
	Phone      string            `json:"phone,omitempty" example:"+14155550100" doc:"E.164, shown in messages"`
	QuietHours *QuietHoursBody   `json:"quiet_hours,omitempty" doc:"Omit to keep"`
	InboxHours map[string]string `json:"inbox_hours,omitempty" example:"{\"en\":\"weekdays 8 AM to 5 PM\",\"es\":\"de lunes a viernes de 8 a 17 h\"}" doc:"When staff read patients' messages, by language (BCP 47 tag → text, up to 100 characters): the answer to a patient's free text says it; without one for the patient's language it says during office hours. Omit to keep; {} to clear"`
}

type clinicOutput struct {
	Body Clinic
}

type putClinicInput struct {
	Body ClinicBody
}

func (s *Server) registerClinic() {
	huma.Register(s.api, op("get-clinic", http.MethodGet, "/v1/clinic", "Read your clinic's settings", beckon.RoleAdmin, beckon.RoleEHR),
		func(ctx context.Context, _ *struct{}) (*clinicOutput, error) {
			c, err := s.store.ClinicGet(ctx, keyFrom(ctx).ClinicID)
			if err != nil {
				return nil, s.mapError("get-clinic", err)
			}
			return &clinicOutput{Body: clinicOut(c)}, nil
		})
	huma.Register(s.api, op("put-clinic", http.MethodPut, "/v1/clinic", "Change your clinic's settings"),
		func(ctx context.Context, in *putClinicInput) (*clinicOutput, error) {
			k := keyFrom(ctx)
			c, err := s.store.ClinicGet(ctx, k.ClinicID)
			if err != nil {
				return nil, s.mapError("put-clinic", err)
			}
			var fe fieldErrors
			if err := validZone(in.Body.TimeZone); err != nil {
				fe.add("time_zone", "%v", err)
			}
			if in.Body.Phone != "" {
				if err := validPhone(in.Body.Phone); err != nil {
					fe.add("phone", "%v", err)
				}
			}
			c.Name, c.TimeZone, c.Phone = in.Body.Name, in.Body.TimeZone, in.Body.Phone
			if q := in.Body.QuietHours; q != nil {
				c.QuietHours = beckon.QuietHours{Enabled: q.Enabled, StartMinute: beckon.DefaultQuietHours.StartMinute, EndMinute: beckon.DefaultQuietHours.EndMinute}
				if q.Start != "" {
					m, err := parseClock(q.Start)
					if err != nil {
						fe.add("quiet_hours.start", "%v", err)
					}
					c.QuietHours.StartMinute = m
				}
				if q.End != "" {
					m, err := parseClock(q.End)
					if err != nil {
						fe.add("quiet_hours.end", "%v", err)
					}
					c.QuietHours.EndMinute = m
				}
				if q.Enabled && c.QuietHours.StartMinute == c.QuietHours.EndMinute {
					fe.add("quiet_hours.end", "must differ from start")
				}
			}
			if in.Body.InboxHours != nil {
				c.InboxHours = inboxHoursIn(in.Body.InboxHours, &fe)
			}
			if err := fe.err(); err != nil {
				return nil, err
			}
			c.UpdatedAt = s.cfg.Clock.Now()
			err = s.store.InTx(ctx, func(q beckon.Querier) error {
				if err := q.ClinicUpdate(ctx, c); err != nil {
					return err
				}
				return q.AuditAppend(ctx, beckon.AuditEntry{
					ClinicID: c.ID, Actor: actor(k), Action: "clinic.updated",
					Entity: "clinic", EntityID: c.ID, At: c.UpdatedAt,
				})
			})
			if err != nil {
				return nil, s.mapError("put-clinic", err)
			}
			return &clinicOutput{Body: clinicOut(c)}, nil
		})
}

func clinicOut(c beckon.Clinic) Clinic {
	return Clinic{
		ID:       c.ID,
		Name:     c.Name,
		TimeZone: c.TimeZone,
		Phone:    c.Phone,
		QuietHours: QuietHoursBody{
			Enabled: c.QuietHours.Enabled,
			Start:   formatClock(c.QuietHours.StartMinute),
			End:     formatClock(c.QuietHours.EndMinute),
		},
		InboxHours: c.InboxHours,
		UpdatedAt:  c.UpdatedAt,
	}
}

// maxInboxHours bounds one language's inbox hours: a phrase inside an SMS.
const maxInboxHours = 100

// inboxHoursIn validates a clinic's inbox hours and keys them by primary
// language ("es-MX" → "es", as patients' languages are kept); an empty map
// clears them (nil).
func inboxHoursIn(in map[string]string, fe *fieldErrors) map[string]string {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]string, len(in))
	for tag, text := range in {
		field := "inbox_hours." + tag
		lang, err := normalLanguage(tag)
		if err != nil {
			fe.add(field, "%v", err)
			continue
		}
		text = strings.TrimSpace(text)
		switch {
		case text == "":
			fe.add(field, "must not be blank")
		case utf8.RuneCountInString(text) > maxInboxHours:
			fe.add(field, "must be at most %d characters", maxInboxHours)
		case strings.ContainsFunc(text, unicode.IsControl):
			fe.add(field, "must be one line of text")
		}
		if _, dup := out[lang]; dup {
			fe.add(field, "names the language %s twice", lang)
		}
		out[lang] = text
	}
	return out
}
