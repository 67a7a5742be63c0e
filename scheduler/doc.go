// Package scheduler decides what every appointment change does and keeps
// the planned sends in step with it; it also runs the pump that hands due
// sends to asynq.
//
// Where the rules live:
//
//   - decide.go: Decide, the one pure decision. Every entrance (REST single
//     and batch, FHIR, HL7 single and group commit, a patient's time-zone
//     change, a campaign change or deletion, a confirmation) says what
//     happened as Changes; Decide merges patients and appointments, orders
//     feed events (duplicates, stale messages, tombstones), plans sends
//     (Plan, plan.go) and decides which are superseded, and returns each
//     change's Outcome and the beckon.Writes that make it so. No I/O, no
//     clock: now is an input.
//   - apply.go: the I/O around it: read what a round of changes needs
//     (load), Decide, and hand the writes to the one store writer,
//     beckon.Querier.Write, set-at-a-time in the caller's transaction, with
//     the appointments' versions checked (ErrConflict re-runs the whole
//     transaction, which decides again).
//   - service.go, feeds.go, feeds_batch.go, confirm.go, replan.go: the
//     entrances (Service methods), each a few lines turning its input into
//     Changes and the Outcomes into its results.
//   - plan.go, quiet.go, sendid.go: the pure planner, quiet hours, send ids.
//   - pump.go: the pump into asynq; orphans.go, pump_statuses.go: its
//     periodic repairs.
package scheduler
