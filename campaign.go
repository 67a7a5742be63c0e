package beckon

import "time"

// Campaign is a clinic's set of steps applied to matching appointments.
// Revision increases on every change.
type Campaign struct {
	ClinicID  string
	ID        string
	Name      string
	Active    bool
	Match     Match
	Steps     []Step
	Revision  int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Match restricts a campaign or step to appointments; an empty list matches all.
type Match struct {
	Types     []string `json:"types,omitempty"`
	Providers []string `json:"providers,omitempty"`
	Locations []string `json:"locations,omitempty"`
}

// Step timing kinds.
const (
	TimingOffset = "offset" // Offset relative to the appointment start
	TimingDay    = "day"    // local time AtMinute on day Day relative to the start's local date
)

// Timing says when a step is due relative to its appointment.
type Timing struct {
	Kind     string        `json:"kind"`
	Offset   time.Duration `json:"offset,omitempty"`
	Day      int           `json:"day,omitempty"`
	AtMinute int           `json:"at_minute,omitempty"`
}

// Step is one message of a campaign.
type Step struct {
	ID                string   `json:"id"`
	Timing            Timing   `json:"timing"`
	Channel           Channel  `json:"channel"`            // sms, email, preferred
	Template          string   `json:"template,omitempty"` // name of a built-in template
	Content           Contents `json:"content,omitempty"`  // inline content per language, instead of Template
	OnlyIfUnconfirmed bool     `json:"only_if_unconfirmed,omitempty"`
	Match             Match    `json:"match,omitempty"`
	// Fallback: when the provider refuses the message for good or reports it
	// undelivered, send it once on the other channel (a separate send).
	Fallback bool `json:"fallback,omitempty"`
}

// Contents maps a language tag to the content in that language.
type Contents map[string]Content

// Content is the source of a message: Go text/template (HTML: html/template).
type Content struct {
	Subject string `json:"subject,omitempty"` // email only
	Text    string `json:"text"`              // SMS body, or email plain-text body
	HTML    string `json:"html,omitempty"`    // email only
}
