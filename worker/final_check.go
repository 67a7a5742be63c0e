package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/beckonhealth/beckon"
)

// finalRef names what a send's final check reads.
type finalRef struct {
	clinicID, sendID, appointmentID, patientID, campaignID string
}

// finalRead is the latest truth of one send, read just before its provider
// call; a nil field is a row that no longer exists.
type finalRead struct {
	send     *beckon.Send
	appt     *beckon.Appointment
	patient  *beckon.Patient
	campaign *beckon.Campaign
}

// finalBatch reads, for the sends about to go at the same moment, the sends
// themselves, their appointments, patients and campaigns: a few statements
// per clinic (one read per distinct campaign) for the whole batch.
func (d *Deliverer) finalBatch(ctx context.Context, refs []finalRef) ([]finalRead, error) {
	byClinic := map[string][]int{}
	for i, r := range refs {
		byClinic[r.clinicID] = append(byClinic[r.clinicID], i)
	}
	out := make([]finalRead, len(refs))
	for clinicID, idx := range byClinic {
		if err := d.finalLoad(ctx, clinicID, refs, idx, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// finalLoad fills out[idx] for refs[idx], all of one clinic.
func (d *Deliverer) finalLoad(ctx context.Context, clinicID string, refs []finalRef, idx []int, out []finalRead) error {
	sendIDs := make([]string, 0, len(idx))
	apptIDs := make([]string, 0, len(idx))
	patientIDs := make([]string, 0, len(idx))
	campaigns := map[string]*beckon.Campaign{}
	for _, i := range idx {
		sendIDs = append(sendIDs, refs[i].sendID)
		apptIDs = append(apptIDs, refs[i].appointmentID)
		patientIDs = append(patientIDs, refs[i].patientID)
		campaigns[refs[i].campaignID] = nil
	}
	sends, err := d.store.SendGetMany(ctx, clinicID, sendIDs)
	if err != nil {
		return fmt.Errorf("read sends: %w", err)
	}
	appts, patients, err := d.people(ctx, clinicID, apptIDs, patientIDs)
	if err != nil {
		return err
	}
	for id := range campaigns {
		c, err := d.store.CampaignGet(ctx, clinicID, id)
		if errors.Is(err, beckon.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read campaign: %w", err)
		}
		campaigns[id] = &c
	}
	for _, i := range idx {
		r := refs[i]
		f := &out[i]
		if s, ok := sends[r.sendID]; ok {
			f.send = &s
		}
		if a, ok := appts[r.appointmentID]; ok {
			f.appt = &a
		}
		if p, ok := patients[r.patientID]; ok {
			f.patient = &p
		}
		f.campaign = campaigns[r.campaignID]
	}
	return nil
}

// finalCheck re-reads the send's latest truth just before the provider call,
// with the other sends about to go, and decides again as the first check
// did: done reports that the send does not go (it was ended, snoozed,
// released, or is no longer this attempt's).
func (a *attempt) finalCheck(ctx context.Context, clinic beckon.Clinic) (done bool, err error) {
	sd := a.send
	r, err := a.d.finals.Do(ctx, finalRef{
		clinicID: sd.ClinicID, sendID: sd.ID, appointmentID: sd.AppointmentID,
		patientID: sd.PatientID, campaignID: sd.CampaignID,
	})
	if err != nil {
		return true, a.release(ctx, fmt.Errorf("final check: %w", err))
	}
	if r.send == nil || r.send.Status != beckon.SendClaimed || r.send.ClaimToken != a.token {
		a.log.Warn("claim lost before the provider call; not sending")
		return true, nil
	}
	var v verdict
	switch {
	case r.appt == nil:
		v = goneAppointment
	case r.patient == nil:
		v = gonePatient
	case r.campaign == nil:
		v = goneCampaign
	default:
		v = a.decide(clinic, *r.patient, *r.appt, *r.campaign, a.d.clock.Now())
	}
	if !v.settled() && (v.kind != a.kind || v.to != a.to) {
		// The message was rendered for another address: plan it afresh.
		v = verdict{until: a.d.clock.Now(), reason: "patient's address changed"}
	}
	if !v.settled() {
		return false, nil
	}
	a.log.Info("changed just before the provider call; not sending", slog.String("reason", v.reason))
	return true, a.settle(ctx, v)
}
