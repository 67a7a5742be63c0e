package ehr

import (
	"strconv"
	"strings"
)

// ErrorCode is a condition code from HL7 table 0357 (message error condition
// codes). It is what an ERR segment reports.
type ErrorCode int

// HL7 table 0357 codes used by this package.
const (
	CodeSegmentSequence        ErrorCode = 100 // segment sequence error, or a required segment is missing
	CodeRequiredFieldMissing   ErrorCode = 101
	CodeDataTypeError          ErrorCode = 102
	CodeTableValueNotFound     ErrorCode = 103
	CodeUnsupportedMessageType ErrorCode = 200
	CodeUnsupportedEventCode   ErrorCode = 201
	CodeUnsupportedProcessing  ErrorCode = 202
	CodeUnsupportedVersion     ErrorCode = 203
	CodeInternalError          ErrorCode = 207
)

// Text is the code's name as HL7 table 0357 gives it.
func (c ErrorCode) Text() string {
	switch c {
	case CodeSegmentSequence:
		return "Segment sequence error"
	case CodeRequiredFieldMissing:
		return "Required field missing"
	case CodeDataTypeError:
		return "Data type error"
	case CodeTableValueNotFound:
		return "Table value not found"
	case CodeUnsupportedMessageType:
		return "Unsupported message type"
	case CodeUnsupportedEventCode:
		return "Unsupported event code"
	case CodeUnsupportedProcessing:
		return "Unsupported processing id"
	case CodeUnsupportedVersion:
		return "Unsupported version id"
	case CodeInternalError:
		return "Application internal error"
	}
	return "Error " + strconv.Itoa(int(c))
}

// Error is what goes wrong reading or mapping an HL7 message. It names the
// place at fault the way an HL7 ERR segment does (ERL data type) and gives a
// table 0357 code.
//
// Reason is written by this package and never quotes a value from the
// message, so an Error is safe to log and to send back in an ACK.
type Error struct {
	Code ErrorCode
	// Segment is the segment id ("SCH"), or empty when the fault is not in a
	// segment that could be named (input that is not HL7 at all).
	Segment string
	// Sequence is the 1-based occurrence of Segment in the message (the
	// second AIS is 2), or 0 when the segment is missing.
	Sequence int
	// Field, Repetition, Component and Subcomponent are 1-based positions,
	// 0 when not applicable. MSH-1 is the field separator, as in HL7.
	Field        int
	Repetition   int
	Component    int
	Subcomponent int
	// Reason says what is wrong, in English, without quoting message data.
	Reason string
}

// Location is the place at fault written as in HL7 documentation:
// "SCH-11.4", "PID-3[2]", "SCH", or "" when there is none.
func (e *Error) Location() string {
	if e.Segment == "" {
		return ""
	}
	var b strings.Builder
	b.WriteString(e.Segment)
	if e.Field > 0 {
		b.WriteByte('-')
		b.WriteString(strconv.Itoa(e.Field))
		if e.Repetition > 1 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(e.Repetition))
			b.WriteByte(']')
		}
		if e.Component > 0 {
			b.WriteByte('.')
			b.WriteString(strconv.Itoa(e.Component))
			if e.Subcomponent > 0 {
				b.WriteByte('.')
				b.WriteString(strconv.Itoa(e.Subcomponent))
			}
		}
	}
	return b.String()
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("hl7: ")
	if loc := e.Location(); loc != "" {
		b.WriteString(loc)
		b.WriteString(": ")
	}
	b.WriteString(strings.ToLower(e.Code.Text()))
	if e.Reason != "" {
		b.WriteString(": ")
		b.WriteString(e.Reason)
	}
	return b.String()
}
