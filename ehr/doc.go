// Package ehr translates what electronic health record systems send into
// Beckon's appointment events.
//
// This part of the package is HL7 version 2 (2.3 through 2.8) in its usual
// ER7 ("pipe and hat") encoding:
//
//   - [Parse] reads a message into a [Message] whose values are reached by
//     typed accessors ([Message.First], [Segment.Field], [Field.Rep],
//     [Repetition.Comp]) or by a path such as m.Get("PID-3[2].4.1").
//   - [MapSIU] turns an SIU scheduling message (S12, S13, S14, S15, S17, S26)
//     into an [Event].
//   - [Classify] runs both and says whether the sender should get an AA, AE
//     or AR acknowledgement, and [Ack] writes that acknowledgement.
//
// Everything here is pure: no I/O, no clock (the current time and the
// clinic's time zone are parameters) and no logging, because messages carry
// protected health information. Errors are [*Error] values that name the
// segment and field at fault and an HL7 table 0357 code; their text never
// contains a value taken from the message.
package ehr
