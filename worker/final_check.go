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
// call; a nil field is a row that no longer exists. campaign holds only the
// campaign's identity, Revision and Active: its content at a revision never
// changes, so the attempt's own copy at that revision stands for the rest.
type finalRead struct {
	send     *beckon.Send
	appt     *beckon.Appointment
	patient  *beckon.Patient
	campaign *beckon.Campaign
}

// finalBatch reads, for the sends about to go at the same moment, the sends
// themselves, their appointments, patients (with their numbers' SMS consent
// in the ledger) and campaigns' revisions: one statement per clinic for the
// whole batch.
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

// finalLoad fills out[idx] for refs[idx], all of one clinic. A row the send
// no longer names as the ref does counts as gone.
func (d *Deliverer) finalLoad(ctx context.Context, clinicID string, refs []finalRef, idx []int, out []finalRead) error {
	sendIDs := make([]string, 0, len(idx))
	for _, i := range idx {
		sendIDs = append(sendIDs, refs[i].sendID)
	}
	reads, err := d.store.SendReadMany(ctx, clinicID, sendIDs)
	if err != nil {
		return fmt.Errorf("read sends: %w", err)
	}
	for _, i := range idx {
		r := refs[i]
		rd, ok := reads[r.sendID]
		if !ok {
			continue
		}
		f := &out[i]
		f.send = &rd.Send
		if rd.Appointment != nil && rd.Send.AppointmentID == r.appointmentID {
			f.appt = rd.Appointment
		}
		if rd.Patient != nil && rd.Send.PatientID == r.patientID {
			f.patient = rd.Patient
			if rd.PhoneConsent != "" {
				// The number's state in the consent ledger is the law
				// for SMS, whatever the patient's row says.
				f.patient.SMSConsent = rd.PhoneConsent
			}
		}
		if rd.CampaignRevision != 0 && rd.Send.CampaignID == r.campaignID {
			f.campaign = &beckon.Campaign{ClinicID: clinicID, ID: r.campaignID, Revision: rd.CampaignRevision,
				Active: rd.CampaignActive, UpdatedAt: rd.CampaignUpdatedAt}
		}
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
		c, err := a.finalCampaign(ctx, *r.campaign)
		switch {
		case errors.Is(err, beckon.ErrNotFound):
			v = goneCampaign
		case err != nil:
			return true, a.release(ctx, fmt.Errorf("final check: %w", err))
		default:
			v = a.decide(clinic, *r.patient, *r.appt, c, a.d.clock.Now())
		}
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

// finalCampaign is the send's campaign as the final check read it (fresh
// carries its identity, revision, active flag and update time only): the
// attempt's own copy when the campaign has not changed since (a change
// moves its revision; deleted and created again, its update time), fresh
// alone at another
// revision (the send no longer holds: recheck), else read afresh
// (beckon.ErrNotFound: deleted since).
func (a *attempt) finalCampaign(ctx context.Context, fresh beckon.Campaign) (beckon.Campaign, error) {
	held := a.campaign
	switch {
	case fresh.Revision != held.Revision:
		return fresh, nil
	case fresh.UpdatedAt.Equal(held.UpdatedAt) && fresh.Active == held.Active:
		return held, nil
	}
	return a.d.store.CampaignGet(ctx, fresh.ClinicID, fresh.ID)
}
