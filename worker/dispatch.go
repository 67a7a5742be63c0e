package worker

import (
	"context"
	"errors"
	"fmt"

	"github.com/beckonhealth/beckon"
)

// claim is one send's share of a claim batch: the send as claimed, with what
// the attempt reads next (its appointment, its patient, and which of the
// patient's addresses a provider reported undeliverable), read for the whole
// batch in a few statements.
type claim struct {
	ok      bool // the batch claimed the send
	send    beckon.Send
	token   string
	loaded  bool // appt, patient and undeliverable were read
	appt    *beckon.Appointment
	patient *beckon.Patient
	// undeliverable holds the patient's undeliverable addresses by channel.
	undeliverable map[beckon.Channel]map[string]beckon.UndeliverableAddress
	// loadErr is why the reads failed; the attempt releases the claim.
	loadErr error
}

// claimBatch claims the planned sends among refs (each within its clinic)
// under one token, then reads their appointments, patients and undeliverable
// addresses clinic by clinic. A send named twice in the batch (a duplicated
// task) is claimed for the first only: the other finds it taken and backs
// off, as DESIGN.md promise 2 asks.
func (d *Deliverer) claimBatch(ctx context.Context, refs []beckon.SendRef) ([]claim, error) {
	token := beckon.NewID("clm_")
	sends, err := d.store.SendClaimMany(ctx, refs, token, d.clock.Now())
	if err != nil {
		return nil, fmt.Errorf("claim sends: %w", err)
	}
	byID := make(map[string]beckon.Send, len(sends))
	for _, s := range sends {
		byID[s.ID] = s
	}
	out := make([]claim, len(refs))
	byClinic := map[string][]int{}
	for i, r := range refs {
		s, ok := byID[r.ID]
		if !ok || s.ClinicID != r.ClinicID {
			continue
		}
		delete(byID, r.ID)
		out[i] = claim{ok: true, send: s, token: token}
		byClinic[s.ClinicID] = append(byClinic[s.ClinicID], i)
	}
	for clinicID, idx := range byClinic {
		err := d.load(ctx, clinicID, out, idx)
		for _, i := range idx {
			out[i].loadErr = err
			out[i].loaded = err == nil
		}
	}
	return out, nil
}

// load reads the appointments, patients and undeliverable addresses of the
// claims out[idx], all of one clinic: the first two with the sends, in one
// statement.
func (d *Deliverer) load(ctx context.Context, clinicID string, out []claim, idx []int) error {
	sendIDs := make([]string, 0, len(idx))
	for _, i := range idx {
		sendIDs = append(sendIDs, out[i].send.ID)
	}
	reads, err := d.store.SendReadMany(ctx, clinicID, sendIDs)
	if err != nil {
		return fmt.Errorf("load appointments and patients: %w", err)
	}
	appts := make(map[string]beckon.Appointment, len(reads))
	patients := make(map[string]beckon.Patient, len(reads))
	for _, r := range reads {
		if r.Appointment != nil {
			appts[r.Appointment.ID] = *r.Appointment
		}
		if r.Patient != nil {
			patients[r.Patient.ID] = *r.Patient
		}
	}
	var addresses []string
	for _, p := range patients {
		if p.Phone != "" {
			addresses = append(addresses, p.Phone)
		}
		if p.Email != "" {
			addresses = append(addresses, p.Email)
		}
	}
	und, err := d.store.AddressUndeliverableGetMany(ctx, clinicID, addresses)
	if err != nil {
		return fmt.Errorf("check addresses: %w", err)
	}
	byChannel := map[beckon.Channel]map[string]beckon.UndeliverableAddress{}
	for _, u := range und {
		if byChannel[u.Channel] == nil {
			byChannel[u.Channel] = map[string]beckon.UndeliverableAddress{}
		}
		byChannel[u.Channel][u.Address] = u
	}
	for _, i := range idx {
		c := &out[i]
		if a, ok := appts[c.send.AppointmentID]; ok {
			c.appt = &a
		}
		if p, ok := patients[c.send.PatientID]; ok {
			c.patient = &p
		}
		c.undeliverable = byChannel
	}
	return nil
}

// recordBatch ends the records' sends as sent with their messages in one
// transaction; a record whose claim was lost gets beckon.ErrConflict.
func (d *Deliverer) recordBatch(ctx context.Context, recs []beckon.SentRecord) ([]error, error) {
	lost, err := d.store.SendRecordMany(ctx, recs, d.clock.Now())
	if err != nil {
		return nil, err
	}
	gone := make(map[string]bool, len(lost))
	for _, id := range lost {
		gone[id] = true
	}
	out := make([]error, len(recs))
	for i, r := range recs {
		if gone[r.Message.SendID] {
			out[i] = beckon.ErrConflict
		}
	}
	return out, nil
}

// recordOne records through the batch and unwraps the record's own outcome.
func (d *Deliverer) recordOne(ctx context.Context, rec beckon.SentRecord) error {
	res, err := d.records.Do(ctx, rec)
	return errors.Join(err, res)
}
