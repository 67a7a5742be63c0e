package ehr

import (
	"encoding/json"
	"strings"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// actorNames is the id and the display name of a provider or location
// participant whose actor refers to ref; res is the resource referred to,
// when it is at hand (contained, or in the bundle), else nil.
//
// The id is what campaigns match on: the reference's id, else the
// reference's identifier, else the resource's first identifier (a contained
// resource's own id means nothing outside the Appointment), else the name.
// The name is the actor's display, else the resource's name.
func actorNames(actor *fhir.Reference, ref string, res json.RawMessage) (id, name string) {
	if actor.Display != nil {
		name = CleanName(*actor.Display)
	}
	var r namedResource
	if res != nil && json.Unmarshal(res, &r) != nil {
		r = namedResource{}
	}
	if name == "" {
		name = r.displayName()
	}
	id = refID(ref)
	if id == "" && actor.Identifier != nil && actor.Identifier.Value != nil {
		id = CleanName(*actor.Identifier.Value)
	}
	if id == "" {
		id = r.firstIdentifier()
	}
	if id == "" {
		id = name
	}
	return id, name
}

// namedResource is what actorNames reads of a Practitioner (name is a list
// of HumanName), a Location or HealthcareService (name is a string), or a
// PractitionerRole (no name).
type namedResource struct {
	ResourceType string          `json:"resourceType"`
	Name         json.RawMessage `json:"name"`
	Identifier   []struct {
		Value string `json:"value"`
	} `json:"identifier"`
}

func (r namedResource) firstIdentifier() string {
	for _, ident := range r.Identifier {
		if v := CleanName(ident.Value); v != "" {
			return v
		}
	}
	return ""
}

// displayName is the resource's name as a patient would read it: a
// Location's or HealthcareService's name; a Practitioner's official (else
// usual, else first) name's text, else its prefix, given and family names
// ("Dr. Ana Rivera").
func (r namedResource) displayName() string {
	if len(r.Name) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(r.Name, &s) == nil {
		return CleanName(s)
	}
	var names []fhir.HumanName
	if json.Unmarshal(r.Name, &names) != nil || len(names) == 0 {
		return ""
	}
	best := 0
	for i, n := range names {
		if n.Use != nil && n.Use.Code() == "official" {
			best = i
			break
		}
		if n.Use != nil && n.Use.Code() == "usual" {
			best = i
		}
	}
	n := names[best]
	if n.Text != nil && CleanName(*n.Text) != "" {
		return CleanName(*n.Text)
	}
	parts := append(append([]string{}, n.Prefix...), n.Given...)
	if n.Family != nil {
		parts = append(parts, *n.Family)
	}
	return CleanName(strings.Join(parts, " "))
}
