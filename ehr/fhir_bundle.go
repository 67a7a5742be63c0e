package ehr

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// MaxFHIRBundleEntries bounds the entries of one transaction or batch.
const MaxFHIRBundleEntries = 1000

// FHIRBundle is a transaction or batch Bundle mapped for Beckon, for
// MapFHIRBundle's caller to apply in ProcessingOrder and answer in request
// order.
type FHIRBundle struct {
	Type    string            // transaction or batch
	Entries []FHIRBundleEntry // in request order
}

// FHIRBundleEntry is one entry: a Patient or an Appointment to create or
// update, with its identity in Beckon resolved as FHIR R4 resolves it
// (http.html#transaction), or the error that keeps it from being applied.
type FHIRBundleEntry struct {
	Index   int
	FullURL string
	Method  string // request.method: POST or PUT once resolved
	// Type and ID are the resource the entry creates or updates in Beckon:
	// PUT Type/id → id; a conditional PUT Type?identifier=system|value, or a
	// POST with ifNoneExist identifier=system|value → value; a POST → the
	// resource's id, else its first identifier's value (Beckon keys patients
	// and appointments by the EHR's ids).
	Type string
	ID   string
	// IfNoneExist is a conditional create: when the resource exists it is
	// left as it is.
	IfNoneExist bool
	Appointment *FHIRAppointment
	Patient     *Patient
	// PatientEntry is the index of the entry that holds the Appointment's
	// patient, or -1 when the patient is not in the bundle.
	PatientEntry int
	// Raw is the resource as processed: its id set to ID and its
	// references to other entries rewritten to Type/id.
	Raw json.RawMessage
	Err error // this entry's error (in a batch the others still apply)
}

// bundleEntryJSON is an entry as sent.
type bundleEntryJSON struct {
	FullURL  string          `json:"fullUrl"`
	Resource json.RawMessage `json:"resource"`
	Request  *struct {
		Method      string `json:"method"`
		URL         string `json:"url"`
		IfNoneExist string `json:"ifNoneExist"`
	} `json:"request"`
}

// MapFHIRBundle maps a transaction or batch Bundle of Patients and
// Appointments as FHIR R4 processes one: each entry's identity comes from
// its request (create, update, conditional create with ifNoneExist,
// conditional update by identifier); references to another entry's fullUrl
// (urn:uuid:, urn:oid:, an absolute URL) are rewritten to that entry's
// Type/id, and an Appointment's patient is resolved inside the bundle. A
// transaction with any bad entry is an error naming the first one
// (Bundle.entry[i]); a batch keeps each entry's error on the entry.
func MapFHIRBundle(raw []byte, loc *time.Location) (FHIRBundle, error) {
	if err := CheckFHIRText(raw); err != nil {
		return FHIRBundle{}, err
	}
	var head struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return FHIRBundle{}, fhirErr("structure", "", "the body is not a JSON object")
	}
	if head.ResourceType != "Bundle" {
		return FHIRBundle{}, fhirErr("invalid", "resourceType", "expected a Bundle")
	}
	if head.Type != "transaction" && head.Type != "batch" {
		return FHIRBundle{}, fhirErr("not-supported", "Bundle.type", "only transaction and batch bundles are processed")
	}
	var rb struct {
		Entry []bundleEntryJSON `json:"entry"`
	}
	if json.Unmarshal(raw, &rb) != nil {
		return FHIRBundle{}, fhirErr("structure", "Bundle", "does not follow the R4 Bundle structure")
	}
	if len(rb.Entry) > MaxFHIRBundleEntries {
		return FHIRBundle{}, fhirErr("too-costly", "Bundle.entry", "at most %d entries", MaxFHIRBundleEntries)
	}
	out := FHIRBundle{Type: head.Type, Entries: make([]FHIRBundleEntry, len(rb.Entry))}
	byURL := map[string]int{} // fullUrl → entry
	byID := map[string]int{}  // Type/id → entry
	for i, e := range rb.Entry {
		en := &out.Entries[i]
		*en = FHIRBundleEntry{Index: i, FullURL: e.FullURL, PatientEntry: -1}
		if e.Request != nil {
			en.Method = e.Request.Method
		}
		en.Type, en.ID, en.IfNoneExist, en.Err = entryIdentity(i, e)
		if e.FullURL != "" {
			if k, dup := byURL[e.FullURL]; dup && en.Err == nil {
				en.Err = fhirErr("invalid", entryExpr(i, "fullUrl"), "the same fullUrl as Bundle.entry[%d]", k)
			} else if !dup {
				byURL[e.FullURL] = i
			}
		}
		if en.Err != nil {
			continue
		}
		key := en.Type + "/" + en.ID
		if k, dup := byID[key]; !dup {
			byID[key] = i
		} else if out.Type == "transaction" {
			en.Err = fhirErr("invalid", entryExpr(i, "request"), "the same resource as Bundle.entry[%d]: a transaction changes each resource once", k)
		}
	}
	if err := out.firstErr(); err != nil && out.Type == "transaction" {
		return FHIRBundle{}, err
	}
	identified := make([]bool, len(out.Entries)) // an identity without error
	for i, en := range out.Entries {
		identified[i] = en.Err == nil
	}
	for i := range out.Entries {
		en := &out.Entries[i]
		if en.Err == nil {
			en.Raw, en.Err = rewriteEntry(rb.Entry[i].Resource, en.ID, entryExpr(i, "resource"), func(ref, expr string) (string, error) {
				k, ok := byURL[ref]
				switch {
				case ok && !identified[k]:
					return "", fhirErr("invalid", expr, "refers to Bundle.entry[%d], which cannot be applied", k)
				case ok:
					return out.Entries[k].Type + "/" + out.Entries[k].ID, nil
				case strings.HasPrefix(ref, "urn:uuid:"), strings.HasPrefix(ref, "urn:oid:"):
					return "", fhirErr("not-found", expr, "refers to no entry's fullUrl in the Bundle")
				case strings.Contains(ref, "?"):
					return "", fhirErr("not-supported", expr, "conditional references are not processed: refer to an entry's fullUrl or to Type/id")
				}
				return ref, nil
			})
		}
	}
	if err := out.firstErr(); err != nil && out.Type == "transaction" {
		return FHIRBundle{}, err
	}
	// entryOf is the entry a reference points to: Type/id, or an absolute
	// URL ending in Type/id.
	entryOf := func(ref string) (int, bool) {
		if i := strings.Index(ref, "/_history/"); i >= 0 {
			ref = ref[:i]
		}
		parts := strings.Split(ref, "/")
		if len(parts) < 2 {
			return 0, false
		}
		k, ok := byID[parts[len(parts)-2]+"/"+parts[len(parts)-1]]
		return k, ok
	}
	resolve := func(ref string) (json.RawMessage, bool) {
		k, ok := entryOf(ref)
		if !ok || out.Entries[k].Err != nil {
			return nil, false
		}
		return out.Entries[k].Raw, true
	}
	// Patients first: an Appointment's patient is resolved from its entry.
	for _, typ := range []string{"Patient", "Appointment"} {
		for i := range out.Entries {
			en := &out.Entries[i]
			if en.Err != nil || en.Type != typ {
				continue
			}
			expr := entryExpr(i, "resource")
			if typ == "Patient" {
				p, _, err := MapFHIRPatient(en.Raw, false)
				if err != nil {
					en.Err = prefixExpr(err, expr)
					continue
				}
				en.Patient = &p
				continue
			}
			a, err := MapFHIRAppointment(en.Raw, loc, resolve)
			if err != nil {
				en.Err = prefixExpr(err, expr)
				continue
			}
			if k, ok := entryOf(a.PatientRef); ok && !strings.HasPrefix(a.PatientRef, "#") {
				if out.Entries[k].Err != nil {
					en.Err = fhirErr("invalid", fmt.Sprintf("%s.participant[%d].actor", expr, a.PatientIndex),
						"refers to Bundle.entry[%d], which cannot be applied", k)
					continue
				}
				en.PatientEntry = k
			}
			en.Appointment = &a
		}
	}
	if err := out.firstErr(); err != nil && out.Type == "transaction" {
		return FHIRBundle{}, err
	}
	return out, nil
}

// firstErr is the error of the first entry that has one.
func (b FHIRBundle) firstErr() error {
	for _, e := range b.Entries {
		if e.Err != nil {
			return e.Err
		}
	}
	return nil
}

// ProcessingOrder is the order in which FHIR R4 processes the entries
// (http.html#transaction): DELETE, then POST, then PUT and PATCH, then GET
// and HEAD; within each, Patients before the Appointments that may refer to
// them, and otherwise the bundle's order. The answer keeps request order.
func (b FHIRBundle) ProcessingOrder() []int {
	rank := func(e FHIRBundleEntry) int {
		r, ok := map[string]int{"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}[e.Method]
		if !ok {
			r = 4
		}
		r *= 2
		if e.Type != "Patient" {
			r++
		}
		return r
	}
	order := make([]int, len(b.Entries))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int { return cmp.Compare(rank(b.Entries[x]), rank(b.Entries[y])) })
	return order
}

func entryExpr(i int, element string) string {
	return fmt.Sprintf("Bundle.entry[%d].%s", i, element)
}

// entryIdentity is the resource type and Beckon id an entry creates or
// updates, and whether it is a conditional create.
func entryIdentity(i int, e bundleEntryJSON) (typ, id string, ifNoneExist bool, err error) {
	if e.Request == nil {
		return "", "", false, fhirErr("required", entryExpr(i, "request"), "a transaction or batch entry needs a request (method and url)")
	}
	switch e.Request.Method {
	case "POST", "PUT":
	case "GET", "HEAD", "DELETE", "PATCH":
		return "", "", false, fhirErr("not-supported", entryExpr(i, "request.method"),
			"only POST and PUT entries are processed (to cancel an appointment, PUT it with status cancelled)")
	default:
		return "", "", false, fhirErr("value", entryExpr(i, "request.method"), "not an R4 HTTP verb")
	}
	var head struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
	}
	if len(e.Resource) == 0 || bytes.Equal(bytes.TrimSpace(e.Resource), []byte("null")) {
		return "", "", false, fhirErr("required", entryExpr(i, "resource"), "a %s entry needs a resource", e.Request.Method)
	}
	if json.Unmarshal(e.Resource, &head) != nil || head.ResourceType == "" {
		return "", "", false, fhirErr("structure", entryExpr(i, "resource"), "not a resource (a JSON object with a resourceType and a string id)")
	}
	typ = head.ResourceType
	if typ != "Patient" && typ != "Appointment" {
		return "", "", false, fhirErr("not-supported", entryExpr(i, "resource"), "only Patient and Appointment entries are processed")
	}
	urlExpr := entryExpr(i, "request.url")
	path, query, conditional := strings.Cut(strings.TrimPrefix(e.Request.URL, "/"), "?")
	seg := strings.Split(path, "/")
	switch {
	case e.Request.URL == "":
		return "", "", false, fhirErr("required", urlExpr, "the request needs a url")
	case strings.Contains(path, "://"):
		return "", "", false, fhirErr("value", urlExpr, "the url is relative to the base: Type, Type/id or Type?identifier=system|value")
	case seg[0] != typ:
		return "", "", false, fhirErr("invalid", urlExpr, "names another resource type than the entry's resource")
	}
	idExpr := urlExpr
	switch {
	case e.Request.Method == "POST":
		if len(seg) != 1 || conditional {
			return "", "", false, fhirErr("value", urlExpr, "a POST's url is the resource type alone")
		}
		if e.Request.IfNoneExist != "" {
			idExpr = entryExpr(i, "request.ifNoneExist")
			id, err = identifierSearch(strings.TrimPrefix(e.Request.IfNoneExist, "?"), idExpr)
			ifNoneExist = true
			break
		}
		idExpr = entryExpr(i, "resource.id")
		id = head.ID
		if id == "" {
			idExpr = entryExpr(i, "resource.identifier")
			id, err = firstIdentifier(e.Resource, idExpr)
		}
		if err == nil && id == "" {
			err = fhirErr("required", idExpr, "a %s created by POST needs an id or an identifier: Beckon keys it by the EHR's", typ)
		}
	case conditional:
		if len(seg) != 1 {
			return "", "", false, fhirErr("value", urlExpr, "a conditional PUT's url is Type?identifier=system|value")
		}
		id, err = identifierSearch(query, urlExpr)
	default:
		if len(seg) != 2 || seg[1] == "" {
			return "", "", false, fhirErr("value", urlExpr, "a PUT's url is Type/id or Type?identifier=system|value")
		}
		id = seg[1]
		if head.ID != "" && head.ID != id {
			return "", "", false, fhirErr("invalid", entryExpr(i, "resource.id"), "differs from the id in request.url")
		}
	}
	if err != nil {
		return "", "", false, err
	}
	if !validID(id) {
		return "", "", false, fhirErr("value", idExpr, "not a valid Beckon id (letters, digits, . _ : -; at most 128)")
	}
	return typ, id, ifNoneExist, nil
}

// identifierSearch is the value of a search by identifier=[system|]value,
// the only conditional search Beckon processes.
func identifierSearch(query, expr string) (string, error) {
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", fhirErr("value", expr, "not a search query")
	}
	if len(q) != 1 || len(q["identifier"]) != 1 {
		return "", fhirErr("not-supported", expr, "conditional requests are processed by identifier=system|value only")
	}
	v := q["identifier"][0]
	if _, after, ok := strings.Cut(v, "|"); ok {
		v = after
	}
	if v == "" {
		return "", fhirErr("value", expr, "the search names no identifier value")
	}
	return v, nil
}

// firstIdentifier is the value of the resource's first identifier that has
// one.
func firstIdentifier(resource json.RawMessage, expr string) (string, error) {
	var r struct {
		Identifier []fhir.Identifier `json:"identifier"`
	}
	if json.Unmarshal(resource, &r) != nil {
		return "", fhirErr("structure", expr, "does not follow the R4 Identifier structure")
	}
	for _, ident := range r.Identifier {
		if ident.Value != nil && *ident.Value != "" {
			return *ident.Value, nil
		}
	}
	return "", nil
}

// rewriteEntry sets the resource's id and passes every reference in it
// (Reference.reference, at any depth) through rewrite, which gets the
// reference and its FHIRPath and returns its new value or an error.
func rewriteEntry(resource json.RawMessage, id, expr string, rewrite func(ref, expr string) (string, error)) (json.RawMessage, error) {
	d := json.NewDecoder(bytes.NewReader(resource))
	d.UseNumber() // numbers pass through as sent
	var doc map[string]any
	if err := d.Decode(&doc); err != nil {
		return nil, fhirErr("structure", expr, "not a JSON object")
	}
	if err := rewriteRefs(doc, expr, rewrite); err != nil {
		return nil, err
	}
	doc["id"] = id
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, fhirErr("structure", expr, "cannot be encoded again")
	}
	return out, nil
}

func rewriteRefs(v any, expr string, rewrite func(ref, expr string) (string, error)) error {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys) // the first error is always the same one
		for _, k := range keys {
			p := expr + "." + k
			// Any case: the R4 model reads "Reference" as reference too.
			if s, ok := x[k].(string); ok && strings.EqualFold(k, "reference") {
				ref, err := rewrite(s, p)
				if err != nil {
					return err
				}
				x[k] = ref
				continue
			}
			if err := rewriteRefs(x[k], p, rewrite); err != nil {
				return err
			}
		}
	case []any:
		for i, c := range x {
			if err := rewriteRefs(c, fmt.Sprintf("%s[%d]", expr, i), rewrite); err != nil {
				return err
			}
		}
	}
	return nil
}
