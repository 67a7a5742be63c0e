package tasks

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"
)

// TypeWriteback is the asynq task type that updates the EHR after a
// confirmation; its TaskID is the write-back id.
const TypeWriteback = "ehr:writeback"

// WritebackPayload is the body of a TypeWriteback task: only the write-back's
// clinic and id; the worker reads it within that clinic only.
type WritebackPayload struct {
	ClinicID    string `json:"clinic_id"`
	WritebackID string `json:"writeback_id"`
}

// NewWritebackTask builds the task for the clinic's write-back.
func NewWritebackTask(clinicID, writebackID string) (*asynq.Task, error) {
	b, err := json.Marshal(WritebackPayload{ClinicID: clinicID, WritebackID: writebackID})
	if err != nil {
		return nil, fmt.Errorf("marshal write-back payload: %w", err)
	}
	return asynq.NewTask(TypeWriteback, b), nil
}

// ParseWritebackPayload decodes a TypeWriteback task's payload. A payload
// without its clinic is ErrNoClinic (with the write-back id it holds).
func ParseWritebackPayload(b []byte) (WritebackPayload, error) {
	var p WritebackPayload
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("decode write-back payload: %w", err)
	}
	if p.WritebackID == "" {
		return p, errors.New("write-back payload: no writeback_id")
	}
	if p.ClinicID == "" {
		return p, fmt.Errorf("write-back payload: %w", ErrNoClinic)
	}
	return p, nil
}
