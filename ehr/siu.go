package ehr

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind is what an SIU message says happened to an appointment.
type Kind string

// Kinds, one per supported SIU trigger event.
const (
	KindNew        Kind = "new"        // S12 notification of new appointment booking
	KindReschedule Kind = "reschedule" // S13 notification of appointment rescheduling
	KindModify     Kind = "modify"     // S14 notification of appointment modification
	KindCancel     Kind = "cancel"     // S15 notification of appointment cancellation
	KindDelete     Kind = "delete"     // S17 notification of appointment deletion
	KindNoShow     Kind = "noshow"     // S26 notification that patient did not show up
)

var triggerKinds = map[string]Kind{
	"S12": KindNew,
	"S13": KindReschedule,
	"S14": KindModify,
	"S15": KindCancel,
	"S17": KindDelete,
	"S26": KindNoShow,
}

// needsStart reports whether an event of this kind is meaningless without
// the appointment's start: a booking or a change of one. A cancellation,
// deletion or no-show is matched by appointment id alone.
func (k Kind) needsStart() bool {
	return k == KindNew || k == KindReschedule || k == KindModify
}

// Event is an SIU message translated into what Beckon needs to plan and send
// reminders. Empty strings and zero times mean the sender did not say.
type Event struct {
	Kind    Kind
	Trigger string // MSH-9.2, such as "S12"
	Version string // MSH-12.1, such as "2.5.1"

	MessageControlID   string    // MSH-10
	MessageTime        time.Time // MSH-7
	SendingApplication string    // MSH-3 (namespace id, else universal id)
	SendingFacility    string    // MSH-4 (namespace id, else universal id)

	// AppointmentID is the filler's id (SCH-2) when sent, else the placer's
	// (SCH-1). Both are kept as sent.
	AppointmentID       string
	PlacerAppointmentID Identifier // SCH-1
	FillerAppointmentID Identifier // SCH-2

	// Start is the appointment's start: TQ1-7, else SCH-11.4, else the
	// first of AIS-4, AIG-8, AIL-6, AIP-6. It is zero only for a
	// cancellation, deletion or no-show sent without one.
	Start time.Time
	// Duration is the appointment's length, 0 when not sent: SCH-9/10,
	// else TQ1-6, TQ1-8 − start, SCH-11.3, SCH-11.5 − start, AIS-7/8,
	// AIG-11/12, AIL-9/10, AIP-9/10.
	Duration time.Duration
	// Status is the filler status code (SCH-25.1) as sent, such as "Booked"
	// or "Cancelled".
	Status string
	// Type is the service booked (AIS-3), else the appointment reason
	// (SCH-7), else the appointment type (SCH-8).
	Type     Coded
	Provider Provider // AIP-3, else AIG-3, else PV1-7
	Location Location // AIL-3, else PV1-3
	Patient  Patient  // PID
	// Notes are the appointment's NTE segments (after SCH or a resource
	// segment), NTE-3 of each, a line per repetition, cleaned and bounded
	// by CleanNotes. For staff: Beckon never shows them to a patient.
	Notes string `json:"Notes,omitempty"`

	// Warnings are the values the mapping dropped because they were not
	// usable (a phone number that is not one, an unknown language): the
	// event holds without them, and the sender should hear of them
	// (an ERR with severity W in the AA). At most maxWarnings.
	Warnings []Error `json:",omitempty"`
}

// maxWarnings bounds the warnings of one message.
const maxWarnings = 10

// warn records a dropped value, up to maxWarnings.
func (ev *Event) warn(e *Error) {
	if len(ev.Warnings) < maxWarnings {
		ev.Warnings = append(ev.Warnings, *e)
	}
}

// Identifier is an HL7 entity identifier (EI).
type Identifier struct {
	ID          string // EI-1
	Namespace   string // EI-2
	UniversalID string // EI-3
}

// Coded is a coded value (CE, CWE): a code, its text and its coding system.
type Coded struct {
	Code   string
	Text   string
	System string
}

// Provider is the person (AIP, or the attending doctor in PV1-7) or
// resource (AIG) the appointment is with.
type Provider struct {
	ID         string
	FamilyName string
	GivenName  string
	// Display is the name to show a patient: prefix, given and family
	// name ("Dr. Ana Ruiz"), or AIG-3's text; cleaned by CleanName.
	Display string
}

// Location is where the appointment takes place (AIL-3, else PV1-3, a PL).
type Location struct {
	ID          string // PL-1 point of care
	Room        string // PL-2
	Facility    string // PL-4 (namespace id, else universal id)
	Description string // PL-9, the name to show a patient; cleaned by CleanName
}

// Patient is who the appointment is for.
type Patient struct {
	// ID is the medical record number: the PID-3 repetition typed MR (or
	// MRN), else the first one that is not a social security number, else
	// the first one.
	ID                 string
	AssigningAuthority string // CX-4 of that repetition
	IDType             string // CX-5 of that repetition
	FirstName          string // PID-5.2 of the legal name, else the first name sent
	LastName           string // PID-5.1.1 of the same name
	// BirthDate is PID-7 as a calendar date, "2006-01-02" (or "2006-01",
	// "2006" when sent with less precision).
	BirthDate string
	// Phone is the best number to text, in E.164: a cellular one (XTN-3
	// CP) if any, else one used at home (PRN, ORN), else any voice number,
	// from PID-13, PID-14 and PID-40 in that order.
	Phone       string
	PhoneMobile bool   // the sender marked Phone as cellular
	Email       string // the first XTN with use code NET or equipment Internet
	// Language is PID-15 as a lower-case BCP 47 primary subtag ("es").
	Language string
}

// Mapper turns SIU messages into Events.
type Mapper struct {
	// Location is the clinic's time zone, used for timestamps sent
	// without an offset. Required.
	Location *time.Location
	// Region is the ISO 3166-1 alpha-2 country assumed for phone numbers
	// without a country code. Default [DefaultRegion].
	Region string
}

// MapSIU maps an SIU message with the default phone region; loc is the
// clinic's time zone. See [Mapper.SIU].
func MapSIU(m *Message, loc *time.Location) (Event, error) {
	return Mapper{Location: loc}.SIU(m)
}

// SIU maps an SIU message into an Event. Errors are [*Error]s: table 0357
// codes 200, 201 and 203 when the message is not an SIU event, version Beckon
// takes (the sender should get AR); other codes when its content is wrong
// (AE): a missing SCH or PID, no appointment id, no patient id, no start for
// a booking or change, a timestamp or number that does not parse.
func (mp Mapper) SIU(m *Message) (Event, error) {
	if m == nil {
		return Event{}, &Error{Code: CodeInternalError, Reason: "no message"}
	}
	if mp.Location == nil {
		return Event{}, &Error{Code: CodeInternalError, Reason: "no clinic time zone configured"}
	}
	if err := m.TextError(); err != nil {
		return Event{}, err
	}
	var ev Event
	msh, _ := m.First("MSH")
	code, trigger, _ := m.Type()
	if hl7Value(code) != "SIU" {
		return Event{}, fieldError(msh, CodeUnsupportedMessageType, 9, 1, "only SIU messages are accepted")
	}
	kind, ok := triggerKinds[hl7Value(trigger)]
	if !ok {
		return Event{}, fieldError(msh, CodeUnsupportedEventCode, 9, 2, "supported SIU events are S12, S13, S14, S15, S17 and S26")
	}
	ev.Kind, ev.Trigger = kind, hl7Value(trigger)
	ev.Version = hl7Value(m.Version())
	minor, ok := parseVersion(ev.Version)
	if !ok {
		return Event{}, fieldError(msh, CodeUnsupportedVersion, 12, 1, "supported versions are 2.3 to 2.8")
	}
	if ev.MessageControlID = hl7Value(msh.Field(10).Value()); ev.MessageControlID == "" {
		return Event{}, fieldError(msh, CodeRequiredFieldMissing, 10, 0, "message control id is empty")
	}
	var err error
	if ev.MessageTime, err = mp.requiredTime(msh, 7, 0, "message date/time"); err != nil {
		return Event{}, err
	}
	ev.SendingApplication = hdName(msh.Field(3).Rep(1))
	ev.SendingFacility = hdName(msh.Field(4).Rep(1))

	sch, ok := m.First("SCH")
	if !ok {
		return Event{}, &Error{Code: CodeSegmentSequence, Segment: "SCH", Reason: "no SCH segment"}
	}
	ev.PlacerAppointmentID = entityID(sch.Field(1).Rep(1))
	ev.FillerAppointmentID = entityID(sch.Field(2).Rep(1))
	ev.AppointmentID = ev.FillerAppointmentID.ID
	if ev.AppointmentID == "" {
		ev.AppointmentID = ev.PlacerAppointmentID.ID
	}
	if ev.AppointmentID == "" {
		return Event{}, fieldError(sch, CodeRequiredFieldMissing, 2, 0, "no appointment id: filler (SCH-2) and placer (SCH-1) ids are both empty")
	}
	if err := mp.schedule(m, sch, minor, &ev); err != nil {
		return Event{}, err
	}
	ev.Status = hl7Value(sch.Field(25).Value())
	ev.Type = firstCoded(
		segField(m, "AIS", 3),
		sch.Field(7),
		sch.Field(8),
	)
	ev.Provider = provider(m)
	ev.Location = location(m)
	ev.Notes = notes(m)
	if ev.Patient, err = mp.patient(m, &ev); err != nil {
		return Event{}, err
	}
	return ev, nil
}

// schedule fills Start and Duration.
func (mp Mapper) schedule(m *Message, sch Segment, minor int, ev *Event) error {
	tq1, hasTQ1 := m.First("TQ1")
	// A start is read from component cmp, subcomponent 1 (a TS sent in a
	// component has its time as first subcomponent). Errors name the
	// component only where the field is a composite: SCH-11.4.
	type source struct {
		seg            Segment
		field, cmp, at int
	}
	var starts []source
	if hasTQ1 {
		starts = append(starts, source{tq1, 7, 1, 0})
	}
	starts = append(starts, source{sch, 11, 4, 4})
	for _, r := range []struct {
		name  string
		field int
	}{{"AIS", 4}, {"AIG", 8}, {"AIL", 6}, {"AIP", 6}} {
		if s, ok := m.First(r.name); ok {
			starts = append(starts, source{s, r.field, 1, 0})
		}
	}
	for _, src := range starts {
		v := hl7Value(src.seg.Field(src.field).Rep(1).Comp(src.cmp).Sub(1))
		if v == "" {
			continue
		}
		t, p, err := ParseInstant(v, mp.Location)
		if err != nil {
			return fieldError(src.seg, CodeDataTypeError, src.field, src.at, timestampReason("appointment start", err))
		}
		if p < PrecisionHour {
			return fieldError(src.seg, CodeDataTypeError, src.field, src.at, "appointment start has no time of day")
		}
		ev.Start = t
		break
	}
	if ev.Start.IsZero() && ev.Kind.needsStart() {
		if minor >= 5 {
			if hasTQ1 {
				return fieldError(tq1, CodeRequiredFieldMissing, 7, 0, "no appointment start in TQ1-7, SCH-11.4 or the resource segments")
			}
			return &Error{Code: CodeRequiredFieldMissing, Segment: "TQ1", Field: 7, Reason: "no appointment start in TQ1-7, SCH-11.4 or the resource segments"}
		}
		return fieldError(sch, CodeRequiredFieldMissing, 11, 4, "no appointment start in SCH-11.4 or the resource segments")
	}

	// Duration: the first source that says something decides.
	if d, ok, err := durationField(sch, 9, sch.Field(10).Rep(1).Comp(1)); err != nil || ok {
		ev.Duration = d
		return err
	}
	if hasTQ1 {
		cq := tq1.Field(6).Rep(1)
		if d, ok, err := durationNumber(tq1, 6, 1, cq.Comp(1).Value(), cq.Comp(2).Sub(1)); err != nil || ok {
			ev.Duration = d
			return err
		}
		if d, ok, err := mp.durationUntil(tq1, 8, 1, ev.Start); err != nil || ok {
			ev.Duration = d
			return err
		}
	}
	if d, ok, err := tqDuration(sch); err != nil || ok {
		ev.Duration = d
		return err
	}
	if d, ok, err := mp.durationUntil(sch, 11, 5, ev.Start); err != nil || ok {
		ev.Duration = d
		return err
	}
	for _, r := range []struct {
		name         string
		field, units int
	}{{"AIS", 7, 8}, {"AIG", 11, 12}, {"AIL", 9, 10}, {"AIP", 9, 10}} {
		s, ok := m.First(r.name)
		if !ok {
			continue
		}
		if d, ok, err := durationField(s, r.field, s.Field(r.units).Rep(1).Comp(1)); err != nil || ok {
			ev.Duration = d
			return err
		}
	}
	return nil
}

// durationField reads a numeric duration field with its units component.
func durationField(s Segment, field int, units Component) (time.Duration, bool, error) {
	return durationNumber(s, field, 0, s.Field(field).Value(), units.Value())
}

// maxDuration bounds appointment lengths; anything longer is a data error.
const maxDuration = 366 * 24 * time.Hour

func durationNumber(s Segment, field, comp int, num, units string) (time.Duration, bool, error) {
	num = hl7Value(num)
	if num == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(n) || n < 0 {
		return 0, false, fieldError(s, CodeDataTypeError, field, comp, "duration is not a non-negative number")
	}
	unit, ok := durationUnit(hl7Value(units))
	if !ok {
		unitComp := 1
		unitField := field + 1
		if comp > 0 { // a CQ: quantity^units
			unitField, unitComp = field, 2
		}
		return 0, false, fieldError(s, CodeTableValueNotFound, unitField, unitComp, "unknown duration unit")
	}
	if n*float64(unit) > float64(maxDuration) {
		return 0, false, fieldError(s, CodeDataTypeError, field, comp, "duration longer than a year")
	}
	return time.Duration(n * float64(unit)), true, nil
}

// durationUnit reads a duration unit: ISO+/ANSI codes, UCUM codes, or words.
// An empty unit is minutes, the HL7 default for SCH-10 and AIS-8.
func durationUnit(u string) (time.Duration, bool) {
	switch strings.ToLower(u) {
	case "", "m", "min", "mins", "minute", "minutes", "mn":
		return time.Minute, true
	case "h", "hr", "hrs", "hour", "hours":
		return time.Hour, true
	case "s", "sec", "secs", "second", "seconds":
		return time.Second, true
	case "d", "day", "days":
		return 24 * time.Hour, true
	}
	return 0, false
}

// tqDuration reads the 2.3-style TQ-3 duration in SCH-11: S, M, H or D
// followed by a number ("M30"). INDEF and unknown forms say nothing.
func tqDuration(sch Segment) (time.Duration, bool, error) {
	v := hl7Value(sch.Field(11).Rep(1).Comp(3).Value())
	if len(v) < 2 {
		return 0, false, nil
	}
	unit, ok := map[byte]time.Duration{'S': time.Second, 'M': time.Minute, 'H': time.Hour, 'D': 24 * time.Hour}[v[0]]
	if !ok {
		return 0, false, nil
	}
	n, err := strconv.Atoi(v[1:])
	if err != nil || n < 0 || time.Duration(n) > maxDuration/unit {
		return 0, false, fieldError(sch, CodeDataTypeError, 11, 3, "duration is not a unit letter and a whole number")
	}
	return time.Duration(n) * unit, true, nil
}

// durationUntil reads an end timestamp and returns its distance from start.
func (mp Mapper) durationUntil(s Segment, field, comp int, start time.Time) (time.Duration, bool, error) {
	v := hl7Value(s.Field(field).Rep(1).Comp(comp).Sub(1))
	if v == "" || start.IsZero() {
		return 0, false, nil
	}
	end, _, err := ParseInstant(v, mp.Location)
	if err != nil {
		return 0, false, fieldError(s, CodeDataTypeError, field, comp, timestampReason("appointment end", err))
	}
	d := end.Sub(start)
	if d < 0 || d > maxDuration {
		return 0, false, fieldError(s, CodeDataTypeError, field, comp, "appointment end is before its start or more than a year after it")
	}
	return d, true, nil
}

func (mp Mapper) requiredTime(s Segment, field, comp int, what string) (time.Time, error) {
	v := hl7Value(s.Field(field).Rep(1).Comp(1).Value())
	if v == "" {
		return time.Time{}, fieldError(s, CodeRequiredFieldMissing, field, comp, what+" is empty")
	}
	t, _, err := ParseInstant(v, mp.Location)
	if err != nil {
		return time.Time{}, fieldError(s, CodeDataTypeError, field, comp, timestampReason(what, err))
	}
	return t, nil
}

// patient reads PID; values it drops are warnings on ev.
func (mp Mapper) patient(m *Message, ev *Event) (Patient, error) {
	pid, ok := m.First("PID")
	if !ok {
		return Patient{}, &Error{Code: CodeSegmentSequence, Segment: "PID", Reason: "no PID segment"}
	}
	var p Patient
	id := pickPatientID(pid.Field(3))
	if id.Empty() {
		return Patient{}, fieldError(pid, CodeRequiredFieldMissing, 3, 0, "no patient identifier")
	}
	p.ID = hl7Value(id.Comp(1).Value())
	p.AssigningAuthority = hdComp(id.Comp(4))
	p.IDType = hl7Value(id.Comp(5).Value())

	name := pickName(pid.Field(5))
	p.LastName = hl7Value(name.Comp(1).Sub(1))
	p.FirstName = hl7Value(name.Comp(2).Value())

	if v := hl7Value(pid.Field(7).Value()); v != "" {
		t, prec, err := ParseTimestamp(v, time.UTC)
		if err != nil {
			return Patient{}, fieldError(pid, CodeDataTypeError, 7, 0, "birth date is not a valid date")
		}
		switch {
		case prec == PrecisionYear:
			p.BirthDate = t.Format("2006")
		case prec == PrecisionMonth:
			p.BirthDate = t.Format("2006-01")
		default:
			p.BirthDate = t.Format("2006-01-02")
		}
	}

	region := mp.Region
	if region == "" {
		region = DefaultRegion
	}
	var best phoneCandidate
	bestE164 := ""
	for _, f := range []int{13, 14, 40} {
		for i, r := range pid.Field(f).All() {
			if i > maxReps {
				break
			}
			email, ok := xtnEmail(r)
			if !ok {
				ev.warn(&Error{Code: CodeDataTypeError, Segment: "PID", Sequence: pid.Sequence(), Field: f, Repetition: i, Component: 4,
					Reason: "the email address is not valid; it was dropped"})
			} else if p.Email == "" {
				p.Email = email
			}
			c := xtnPhone(r)
			if c.number == "" {
				continue
			}
			e := NormalizePhone(c.number, region)
			if e == "" {
				ev.warn(&Error{Code: CodeDataTypeError, Segment: "PID", Sequence: pid.Sequence(), Field: f, Repetition: i,
					Reason: "the phone number is not a valid number; it was dropped"})
				continue
			}
			if c.score > best.score {
				best, bestE164 = c, e
			}
		}
	}
	p.Phone, p.PhoneMobile = bestE164, best.mobile

	lang := pid.Field(15).Rep(1)
	code, text := hl7Value(lang.Comp(1).Value()), hl7Value(lang.Comp(2).Value())
	if p.Language = NormalizeLanguage(code); p.Language == "" {
		p.Language = NormalizeLanguage(text)
	}
	if p.Language == "" && (code != "" || text != "") {
		ev.warn(&Error{Code: CodeTableValueNotFound, Segment: "PID", Sequence: pid.Sequence(), Field: 15,
			Reason: "the language is not one Beckon knows; it was dropped and the clinic's default applies"})
	}
	return p, nil
}

// maxReps bounds how many repetitions of a field the mapping looks at: real
// messages send a handful, and a hostile one must not cost more.
const maxReps = 100

// pickPatientID chooses the PID-3 repetition typed MR or MRN, else the first
// one that is not a social security number, else the first non-empty one.
func pickPatientID(f Field) Repetition {
	var first, firstNotSS Repetition
	for i, r := range f.All() {
		if i > maxReps {
			break
		}
		if hl7Value(r.Comp(1).Value()) == "" {
			continue
		}
		t := strings.ToUpper(hl7Value(r.Comp(5).Value()))
		if t == "MR" || t == "MRN" {
			return r
		}
		if first.Empty() {
			first = r
		}
		if firstNotSS.Empty() && t != "SS" {
			firstNotSS = r
		}
	}
	if !firstNotSS.Empty() {
		return firstNotSS
	}
	return first
}

// pickName chooses the PID-5 repetition typed L (legal), else the first.
func pickName(f Field) Repetition {
	for i, r := range f.All() {
		if i > maxReps {
			break
		}
		if strings.EqualFold(hl7Value(r.Comp(7).Value()), "L") {
			return r
		}
	}
	return f.Rep(1)
}

// provider is who the appointment is with: the first AIP-3 that names
// someone, else the first AIG-3 that names a resource, else the attending
// doctor (PV1-7). The zero Provider when none does.
func provider(m *Message) Provider {
	for i, aip := range m.All("AIP") {
		if i >= maxReps {
			break
		}
		if p := personXCN(aip.Field(3).Rep(1)); p != (Provider{}) {
			return p
		}
	}
	for i, aig := range m.All("AIG") {
		if i >= maxReps {
			break
		}
		c := aig.Field(3).Rep(1)
		p := Provider{ID: hl7Value(c.Comp(1).Value()), Display: CleanName(hl7Value(c.Comp(2).Value()))}
		if p != (Provider{}) {
			return p
		}
	}
	if pv1, ok := m.First("PV1"); ok {
		return personXCN(pv1.Field(7).Rep(1))
	}
	return Provider{}
}

// personXCN reads a person (XCN): id, family and given names, and the name
// to show, prefix given family ("Dr. Ana Ruiz").
func personXCN(x Repetition) Provider {
	p := Provider{
		ID:         hl7Value(x.Comp(1).Value()),
		FamilyName: hl7Value(x.Comp(2).Sub(1)),
		GivenName:  hl7Value(x.Comp(3).Value()),
	}
	parts := make([]string, 0, 3)
	for _, s := range []string{hl7Value(x.Comp(6).Value()), p.GivenName, p.FamilyName} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	p.Display = CleanName(strings.Join(parts, " "))
	return p
}

// location is where the appointment takes place: the first AIL-3 that
// names a place, else the patient's assigned location (PV1-3). The zero
// Location when neither does.
func location(m *Message) Location {
	for i, ail := range m.All("AIL") {
		if i >= maxReps {
			break
		}
		if l := placePL(ail.Field(3).Rep(1)); l != (Location{}) {
			return l
		}
	}
	if pv1, ok := m.First("PV1"); ok {
		return placePL(pv1.Field(3).Rep(1))
	}
	return Location{}
}

// placePL reads a person location (PL).
func placePL(pl Repetition) Location {
	return Location{
		ID:          hl7Value(pl.Comp(1).Value()),
		Room:        hl7Value(pl.Comp(2).Value()),
		Facility:    hdComp(pl.Comp(4)),
		Description: CleanName(hl7Value(pl.Comp(9).Text())),
	}
}

// notes joins NTE-3 of every NTE segment, a line per repetition (an SIU
// message's NTEs follow SCH and the resource segments: all are about the
// appointment), cleaned and bounded by CleanNotes. It stops reading once it
// holds more than the bound can keep.
func notes(m *Message) string {
	var b strings.Builder
	for _, nte := range m.All("NTE") {
		for i, r := range nte.Field(3).All() {
			if i > maxReps || b.Len() > 4*MaxNotesLength {
				break
			}
			line := hl7Value(Unescape(r.Raw(), m.Delimiters()))
			if line == "" {
				continue
			}
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(line)
		}
		if b.Len() > 4*MaxNotesLength {
			break
		}
	}
	return CleanNotes(b.String())
}

func segField(m *Message, name string, field int) Field {
	s, _ := m.First(name)
	return s.Field(field)
}

func firstCoded(fields ...Field) Coded {
	for _, f := range fields {
		r := f.Rep(1)
		c := Coded{
			Code:   hl7Value(r.Comp(1).Value()),
			Text:   hl7Value(r.Comp(2).Value()),
			System: hl7Value(r.Comp(3).Value()),
		}
		if c.Code != "" || c.Text != "" {
			return c
		}
	}
	return Coded{}
}

func entityID(r Repetition) Identifier {
	return Identifier{
		ID:          hl7Value(r.Comp(1).Value()),
		Namespace:   hl7Value(r.Comp(2).Value()),
		UniversalID: hl7Value(r.Comp(3).Value()),
	}
}

// hdName reads a hierarchic designator (HD) sent as a whole field: its
// namespace id, else its universal id.
func hdName(r Repetition) string {
	if v := hl7Value(r.Comp(1).Value()); v != "" {
		return v
	}
	return hl7Value(r.Comp(2).Value())
}

// hdComp reads an HD sent as a component (its parts are subcomponents).
func hdComp(c Component) string {
	if v := hl7Value(c.Sub(1)); v != "" {
		return v
	}
	return hl7Value(c.Sub(2))
}

// hl7Value cleans a decoded value: surrounding spaces go, the HL7 explicit
// null `""` reads as empty, and invalid UTF-8 is replaced.
func hl7Value(s string) string {
	s = strings.TrimSpace(s)
	if s == `""` {
		return ""
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

// parseVersion accepts HL7 versions 2.3 to 2.8 ("2.3", "2.5.1", "2.8.2")
// and returns the minor version.
func parseVersion(v string) (int, bool) {
	rest, ok := strings.CutPrefix(v, "2.")
	if !ok || rest == "" {
		return 0, false
	}
	minor, patch, _ := strings.Cut(rest, ".")
	if len(minor) != 1 || minor[0] < '3' || minor[0] > '8' || !allDigits(patch) || len(patch) > 2 {
		return 0, false
	}
	return int(minor[0] - '0'), true
}

func fieldError(s Segment, code ErrorCode, field, comp int, reason string) *Error {
	name := s.Name()
	if name == "" {
		name = "MSH"
	}
	return &Error{Code: code, Segment: name, Sequence: s.Sequence(), Field: field, Component: comp, Reason: reason}
}
