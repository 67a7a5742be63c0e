// Package conversation decides what a patient's SMS reply does: which
// appointment it is about, the effect on that appointment or on the
// number's consent, the answer the patient gets, and the question the
// conversation leaves open for the next reply.
//
// Decide is pure (the reply's text, what the conversation left open, the
// appointments it may be about, the number's consent, the time) and holds
// every rule; the interpretation task applies its Outcome through the store
// with ids derived from the inbound message, so that a task run twice
// applies each effect once.
package conversation
