// Package feeds processes feeds from EHRs. For HL7 v2 it owns the path of a
// message from its bytes to its acknowledgement, the MLLP server and its
// group commit, the inbound archive rows, and replay of archived messages.
// For FHIR R4 it owns applying what the /fhir/r4 endpoints receive
// ([FHIRProcessor]): one Appointment, a transaction or batch Bundle, a
// Subscriptions notification, each archived with its outcome.
//
// It sits between the transports and the scheduler: api's POST /hl7/v2 and
// /fhir/r4 handlers, the MLLP listener (started by cmd/beckon) and `beckon
// ehr replay` call it; it calls the scheduler to apply appointment events and
// the store to archive, and never imports api. Parsing and mapping are ehr's
// (pure); what an event does to the stored appointments is the scheduler's;
// HTTP (auth, reading the body, OperationOutcome answers) is api's.
//
// # One message, from bytes to ACK
//
//  1. Bytes arrive: an MLLP frame read by [MLLPServer] (0x0B message 0x1C
//     0x0D, many per connection; a frame cut short by a start block is
//     archived and dropped without an ACK), a POST /hl7/v2 body, or an
//     archived row read by [Replay].
//  2. prepare (hl7_batch.go) digests the bytes, parses them (ehr.Parse),
//     finds the clinic (the listener's, the API key's, or the sending
//     facility MSH-4 on a clinic's allow-list), maps the SIU in the clinic's
//     time zone (ehr.Mapper, zones cached for a minute) and turns it into a
//     scheduler.FeedEvent. A message that fails here is answered AR/AE and
//     only archived.
//  3. apply groups the prepared messages by clinic, actor and time zone and
//     hands each group to scheduler.Service.ApplyFeedBatch: the events and
//     their archive rows are written in one transaction. Its Check callback
//     aborts when the clinic's zone changed since mapping (the messages are
//     mapped again); its Archive callback settles each message's outcome
//     (AA, or AE for an event the scheduler refuses) and returns the rows to
//     archive with it. A group whose transaction fails is applied again one
//     message at a time, so one bad message cannot fail the others.
//  4. answer builds the ACK (ehr.Ack, with the dropped values as warnings)
//     and logs ids and sizes only; the transport writes it. An ACK is sent
//     only after its message's transaction has committed.
//
// [HL7Processor.Process] is steps 2 to 4 for one message (POST /hl7/v2 and
// replay).
//
// # Group commit
//
// On MLLP, messages arriving at once on different connections share one
// transaction (mllp_batch.go): each connection hands its prepared message
// to the batcher and waits; a group takes what is waiting (lingering up to
// a millisecond for connections that were busy a moment ago, at most 64
// messages), applies it as in step 3, then wakes the connections, which
// acknowledge. A connection has one message in flight, so its messages
// apply in order. PostgreSQL runs two groups at once, SQLite one.
//
// # FHIR R4
//
// [FHIRProcessor] maps through ehr (MapFHIRAppointment, MapFHIRBundle) in
// the clinic's time zone and applies through scheduler.Service: one
// Appointment with ApplyEvent; a transaction Bundle's entries in processing
// order with ApplyEvents, in one store transaction, all or none; a batch
// Bundle's entries one ApplyEvents each. An Appointment's patient comes from
// the resource (contained, or a bundle entry), else must be known to Beckon,
// else is fetched from the clinic's FHIR base (fhir_fetch.go) before any
// transaction; a notification's id-only entries are fetched the same way.
// Every request is archived once, with the HTTP status it is answered.
//
// Results are typed (FHIRAppointmentResult, FHIRBundleResult with one
// FHIREntryResult per entry); an error is an *ehr.FHIRError (the request or
// entry is refused: 422, or 400 for a body that is not a readable resource)
// or ErrFHIRUnavailable (Beckon failed: 503, retry). [FHIRStatus] maps one
// to its status; api turns them into OperationOutcomes.
package feeds
