package feeds

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/ehr"
)

// fetchPatient reads Patient/{id} from the clinic's FHIR base.
func (p *FHIRProcessor) fetchPatient(ctx context.Context, clinicID, id string) (beckon.Patient, error) {
	raw, err := p.fetch(ctx, clinicID, "Patient/"+id)
	if err != nil {
		return beckon.Patient{}, err
	}
	pat, pid, err := ehr.MapFHIRPatient(raw, false)
	if err != nil || pid != id {
		return beckon.Patient{}, errors.New("the EHR's Patient resource is not usable")
	}
	return feedPatient(pat, pid), nil
}

// fetch GETs a resource from the clinic's FHIR base with the clinic's
// Authorization header. Its errors say what failed without quoting the
// resource.
func (p *FHIRProcessor) fetch(ctx context.Context, clinicID, path string) ([]byte, error) {
	fs, err := p.Store.FeedSettingsGet(ctx, clinicID)
	if err != nil || fs.FHIRBaseURL == "" {
		return nil, errors.New("the patient is not known to Beckon and no FHIR base is configured to fetch it (PUT /v1/clinic/feeds)")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(fs.FHIRBaseURL, "/")+"/"+path, nil)
	if err != nil {
		return nil, errors.New("the FHIR base URL is not usable")
	}
	req.Header.Set("Accept", "application/fhir+json")
	if fs.FHIRAuthHeader != "" {
		req.Header.Set("Authorization", fs.FHIRAuthHeader)
	}
	resp, err := p.Client.Do(req)
	if err != nil {
		return nil, errors.New("the EHR's FHIR server did not answer")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the EHR's FHIR server answered %d", resp.StatusCode)
	}
	return io.ReadAll(io.LimitReader(resp.Body, ehr.MaxFHIRSize))
}
