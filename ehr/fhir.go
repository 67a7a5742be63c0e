package ehr

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// MaxFHIRSize bounds one FHIR request body (a Bundle included).
const MaxFHIRSize = 4 << 20

// FHIRError is what is wrong with a FHIR resource, in the shape of an
// OperationOutcome issue. Its text never quotes a value from the resource.
type FHIRError struct {
	// Code is an issue type (http://hl7.org/fhir/issue-type): required,
	// value, invalid, structure, not-supported, not-found.
	Code string
	// Expression is the FHIRPath of the element at fault, such as
	// "Appointment.start" or "Bundle.entry[1].resource".
	Expression string
	Reason     string
}

func (e *FHIRError) Error() string {
	if e.Expression == "" {
		return "fhir: " + e.Code + ": " + e.Reason
	}
	return "fhir: " + e.Expression + ": " + e.Code + ": " + e.Reason
}

func fhirErr(code, expr, format string, args ...any) *FHIRError {
	return &FHIRError{Code: code, Expression: expr, Reason: fmt.Sprintf(format, args...)}
}

// FHIRStatus is what an R4 Appointment status means for reminders.
type FHIRStatus struct {
	// Status is the Beckon status: booked, arrived, fulfilled, cancelled, noshow.
	Status beckon.AppointmentStatus
	// Scheduled is false for proposed, pending and waitlist: not (or no
	// longer) a booking, so no reminders. It stops a known appointment like a
	// cancellation, but is no cancellation: for an appointment Beckon does
	// not know it changes nothing (no tombstone).
	Scheduled bool
}

// FHIRStatuses maps every R4 Appointment status.
var FHIRStatuses = map[string]FHIRStatus{
	"proposed":         {"cancelled", false},
	"pending":          {"cancelled", false},
	"waitlist":         {"cancelled", false},
	"booked":           {"booked", true},
	"arrived":          {"arrived", true},
	"checked-in":       {"arrived", true},
	"fulfilled":        {"fulfilled", true},
	"cancelled":        {"cancelled", true},
	"entered-in-error": {"cancelled", true},
	"noshow":           {"noshow", true},
}

// FHIRAppointment is an R4 Appointment translated for Beckon.
type FHIRAppointment struct {
	// Appointment is what the resource says of the appointment: ID,
	// PatientID (the id Beckon uses for the patient participant), Status
	// (FHIRStatuses), Start (zero only when not scheduled or cancelled),
	// Duration, Type, and Provider and Location: the ids campaigns match on
	// (the reference's id, else its identifier, else the referenced
	// resource's identifier, else the display), with ProviderName and
	// LocationName, what a patient is shown (the participant's
	// actor.display, else the name of the resource referred to, contained
	// or in the bundle, cleaned by CleanName).
	Appointment beckon.Appointment
	FHIRState   string // the R4 status as sent
	Scheduled   bool
	// PatientRef is the patient participant's reference as sent
	// ("Patient/123", "#p1", "urn:uuid:…").
	PatientRef string
	// Patient is set when the patient's resource was at hand (contained, in
	// the bundle); otherwise only PatientID is known.
	Patient *Patient
	// PatientIndex is the index of the patient participant.
	PatientIndex int
	VersionID    string    // meta.versionId
	Version      int64     // meta.versionId when it is a positive integer
	LastUpdated  time.Time // meta.lastUpdated
}

// Resolver finds a referenced resource (raw JSON) in the bundle being
// processed; nil when there is none.
type Resolver func(ref string) (json.RawMessage, bool)

// probe is read before the typed model: it tells missing elements from
// defaults (the model's zero status is "proposed").
type probe struct {
	ResourceType string            `json:"resourceType"`
	ID           *string           `json:"id"`
	Status       *string           `json:"status"`
	Participant  []json.RawMessage `json:"participant"`
	Contained    []json.RawMessage `json:"contained"`
}

// MapFHIRAppointment maps an R4 Appointment (raw JSON) in the clinic's zone
// loc. resolve finds resources of the enclosing Bundle (may be nil).
func MapFHIRAppointment(raw []byte, loc *time.Location, resolve Resolver) (FHIRAppointment, error) {
	var out FHIRAppointment
	if err := CheckFHIRText(raw); err != nil {
		return out, err
	}
	var p probe
	if err := json.Unmarshal(raw, &p); err != nil {
		return out, fhirErr("structure", "", "the body is not a JSON object")
	}
	if p.ResourceType != "Appointment" {
		return out, fhirErr("invalid", "resourceType", "expected an Appointment")
	}
	if p.Status == nil {
		return out, fhirErr("required", "Appointment.status", "status is required")
	}
	st, ok := FHIRStatuses[*p.Status]
	if !ok {
		return out, fhirErr("value", "Appointment.status", "not an R4 appointment status")
	}
	if len(p.Participant) == 0 {
		return out, fhirErr("required", "Appointment.participant", "at least one participant is required")
	}
	a, err := fhir.UnmarshalAppointment(raw)
	if err != nil {
		return out, fhirErr("structure", "Appointment", "does not follow the R4 Appointment structure")
	}
	out.FHIRState, out.Appointment.Status, out.Scheduled = *p.Status, st.Status, st.Scheduled
	if a.Id != nil {
		out.Appointment.ID = *a.Id
	}
	if a.Meta != nil {
		if a.Meta.VersionId != nil {
			out.VersionID = *a.Meta.VersionId
			if n, err := strconv.ParseInt(out.VersionID, 10, 64); err == nil && n > 0 {
				out.Version = n
			}
		}
		if a.Meta.LastUpdated != nil {
			t, err := parseInstant(*a.Meta.LastUpdated, loc)
			if err != nil {
				return out, fhirErr("value", "Appointment.meta.lastUpdated", "%s", instantReason(err))
			}
			out.LastUpdated = t
		}
	}
	if a.Start != nil {
		t, err := parseInstant(*a.Start, loc)
		if err != nil {
			return out, fhirErr("value", "Appointment.start", "%s", instantReason(err))
		}
		out.Appointment.Start = t
	}
	if a.End != nil {
		t, err := parseInstant(*a.End, loc)
		if err != nil {
			return out, fhirErr("value", "Appointment.end", "%s", instantReason(err))
		}
		if !out.Appointment.Start.IsZero() {
			if t.Before(out.Appointment.Start) {
				return out, fhirErr("value", "Appointment.end", "end is before start")
			}
			out.Appointment.Duration = t.Sub(out.Appointment.Start)
		}
	}
	if out.Appointment.Duration == 0 && a.MinutesDuration != nil {
		if *a.MinutesDuration < 0 || *a.MinutesDuration > 366*24*60 {
			return out, fhirErr("value", "Appointment.minutesDuration", "out of range")
		}
		out.Appointment.Duration = time.Duration(*a.MinutesDuration) * time.Minute
	}
	if out.Appointment.Duration > maxDuration {
		return out, fhirErr("value", "Appointment.end", "the appointment is longer than a year")
	}
	// FHIR invariant app-3: only proposed, cancelled and waitlist may lack start/end.
	if out.Appointment.Start.IsZero() && st.Scheduled && out.Appointment.Status != "cancelled" {
		return out, fhirErr("required", "Appointment.start", "start is required for a %s appointment", out.FHIRState)
	}
	switch {
	case a.AppointmentType != nil:
		out.Appointment.Type = codeOf(*a.AppointmentType)
	case len(a.ServiceType) > 0:
		out.Appointment.Type = codeOf(a.ServiceType[0])
	}
	type containedRes struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
	}
	containedType := map[string]string{}
	containedRaw := map[string]json.RawMessage{}
	for _, c := range p.Contained {
		var head containedRes
		if json.Unmarshal(c, &head) == nil && head.ID != "" {
			containedType["#"+head.ID] = head.ResourceType
			containedRaw["#"+head.ID] = c
		}
	}
	referenced := func(ref string) json.RawMessage {
		if strings.HasPrefix(ref, "#") {
			return containedRaw[ref]
		}
		if resolve != nil && ref != "" {
			if r, ok := resolve(ref); ok {
				return r
			}
		}
		return nil
	}
	out.PatientIndex = -1
	for i, part := range a.Participant {
		if part.Actor == nil {
			continue
		}
		ref := ""
		if part.Actor.Reference != nil {
			ref = *part.Actor.Reference
		}
		kind := refType(ref, part.Actor.Type)
		if strings.HasPrefix(ref, "#") {
			kind = containedType[ref]
			if kind == "" {
				kind = "Patient" // reported below: the contained resource is missing
			}
		} else if kind == "" && resolve != nil {
			if r, ok := resolve(ref); ok {
				var head containedRes
				if json.Unmarshal(r, &head) == nil {
					kind = head.ResourceType
				}
			}
		}
		switch kind {
		case "Patient":
			if out.PatientIndex >= 0 {
				continue
			}
			out.PatientIndex, out.PatientRef = i, ref
		case "Practitioner", "PractitionerRole", "HealthcareService":
			if out.Appointment.Provider == "" {
				out.Appointment.Provider, out.Appointment.ProviderName = actorNames(part.Actor, ref, referenced(ref))
			}
		case "Location":
			if out.Appointment.Location == "" {
				out.Appointment.Location, out.Appointment.LocationName = actorNames(part.Actor, ref, referenced(ref))
			}
		}
	}
	if out.PatientIndex < 0 {
		return out, fhirErr("required", "Appointment.participant", "no participant whose actor is a Patient")
	}
	expr := fmt.Sprintf("Appointment.participant[%d].actor", out.PatientIndex)
	var patientRaw json.RawMessage
	switch {
	case strings.HasPrefix(out.PatientRef, "#"):
		for _, c := range p.Contained {
			var head struct {
				ResourceType string `json:"resourceType"`
				ID           string `json:"id"`
			}
			if json.Unmarshal(c, &head) == nil && head.ResourceType == "Patient" && head.ID == out.PatientRef[1:] {
				patientRaw = c
			}
		}
		if patientRaw == nil {
			return out, fhirErr("not-found", expr, "the contained Patient is not in Appointment.contained")
		}
	case resolve != nil:
		if r, ok := resolve(out.PatientRef); ok {
			patientRaw = r
		}
	}
	if patientRaw != nil {
		pt, id, err := MapFHIRPatient(patientRaw, strings.HasPrefix(out.PatientRef, "#"))
		if err != nil {
			return out, prefixExpr(err, expr+".resolve()")
		}
		out.Patient, out.Appointment.PatientID = &pt, id
	} else {
		out.Appointment.PatientID = refID(out.PatientRef)
		if out.Appointment.PatientID == "" || !strings.HasPrefix(out.PatientRef, "Patient/") {
			return out, fhirErr("not-found", expr, "the Patient reference cannot be resolved")
		}
	}
	if !validID(out.Appointment.PatientID) {
		return out, fhirErr("value", expr, "the patient id is not a valid id")
	}
	return out, nil
}

// MapFHIRPatient maps an R4 Patient; contained patients are identified by
// their first identifier (their local id means nothing outside the resource).
func MapFHIRPatient(raw []byte, contained bool) (Patient, string, error) {
	if err := CheckFHIRText(raw); err != nil {
		return Patient{}, "", err
	}
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(raw, &head); err != nil || head.ResourceType != "Patient" {
		return Patient{}, "", fhirErr("invalid", "Patient", "expected a Patient")
	}
	p, err := fhir.UnmarshalPatient(raw)
	if err != nil {
		return Patient{}, "", fhirErr("structure", "Patient", "does not follow the R4 Patient structure")
	}
	var out Patient
	id := ""
	if p.Id != nil && !contained {
		id = *p.Id
	}
	for _, ident := range p.Identifier {
		if ident.Value != nil && *ident.Value != "" {
			out.ID = *ident.Value
			if contained && id == "" {
				id = *ident.Value
			}
			break
		}
	}
	if id == "" {
		return Patient{}, "", fhirErr("required", "Patient.identifier", "a contained Patient needs an identifier")
	}
	out.ID = id
	// The official name, else the usual one, else the first.
	best := -1
	for i, n := range p.Name {
		if n.Use != nil && n.Use.Code() == "official" {
			best = i
			break
		}
		if best < 0 || (n.Use != nil && n.Use.Code() == "usual") {
			best = i
		}
	}
	if best >= 0 {
		n := p.Name[best]
		if len(n.Given) > 0 {
			out.FirstName = n.Given[0]
		}
		if n.Family != nil {
			out.LastName = *n.Family
		}
	}
	for _, t := range p.Telecom {
		if t.System == nil || t.Value == nil {
			continue
		}
		switch t.System.Code() {
		case "phone", "sms":
			e164 := NormalizePhone(*t.Value, DefaultRegion)
			if e164 == "" {
				continue
			}
			mobile := t.System.Code() == "sms" || (t.Use != nil && t.Use.Code() == "mobile")
			if out.Phone == "" || (mobile && !out.PhoneMobile) {
				out.Phone, out.PhoneMobile = e164, mobile
			}
		case "email":
			if out.Email == "" && strings.Contains(*t.Value, "@") {
				out.Email = *t.Value
			}
		}
	}
	for _, c := range p.Communication {
		lang := ""
		if len(c.Language.Coding) > 0 && c.Language.Coding[0].Code != nil {
			lang = NormalizeLanguage(*c.Language.Coding[0].Code)
		} else if c.Language.Text != nil {
			lang = NormalizeLanguage(*c.Language.Text)
		}
		if lang != "" && (out.Language == "" || (c.Preferred != nil && *c.Preferred)) {
			out.Language = lang
		}
	}
	if p.BirthDate != nil {
		out.BirthDate = *p.BirthDate
	}
	return out, id, nil
}

// parseInstant reads a FHIR instant with its offset, inside CheckInstant's window.
func parseInstant(s string, loc *time.Location) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	_ = loc
	if err := CheckInstant(t); err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// instantReason says why parseInstant refused a value (never quoting it).
func instantReason(err error) string {
	if errors.Is(err, ErrInstantRange) {
		return "the instant " + ErrInstantRange.Error()
	}
	return "not an instant with a time zone"
}

func codeOf(c fhir.CodeableConcept) string {
	for _, cd := range c.Coding {
		if cd.Code != nil && *cd.Code != "" {
			return *cd.Code
		}
	}
	if c.Text != nil {
		return *c.Text
	}
	return ""
}

// refType is the resource type a reference points to.
func refType(ref string, typ *string) string {
	if typ != nil && *typ != "" {
		return *typ
	}
	ref = strings.TrimPrefix(ref, "#")
	parts := strings.Split(ref, "/")
	for i := len(parts) - 2; i >= 0; i-- {
		if len(parts[i]) > 0 && parts[i][0] >= 'A' && parts[i][0] <= 'Z' {
			return parts[i]
		}
	}
	return ""
}

// refID is the id part of "Patient/123" (or of an absolute URL, history dropped).
func refID(ref string) string {
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	i := strings.LastIndexByte(ref, '/')
	if i < 0 {
		return ""
	}
	return ref[i+1:]
}

// validID reports whether s can be a Beckon id (as the REST API allows).
func validID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == ':' || r == '-') {
			return false
		}
	}
	return true
}

// ValidID reports whether s can be a Beckon appointment or patient id.
func ValidID(s string) bool { return validID(s) }

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func prefixExpr(err error, expr string) error {
	fe, ok := err.(*FHIRError)
	if !ok || fe == nil {
		return err
	}
	c := *fe
	switch {
	case c.Expression == "":
		c.Expression = expr
	case strings.HasPrefix(c.Expression, "Appointment"), strings.HasPrefix(c.Expression, "Patient"):
		c.Expression = expr + strings.TrimPrefix(strings.TrimPrefix(c.Expression, "Appointment"), "Patient")
	}
	return &c
}
