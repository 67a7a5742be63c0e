package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/validation"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/scheduler"
)

// Error codes: stable, machine-readable, part of the public API.
const (
	CodeBadRequest   = "bad_request"       // malformed request (not JSON, wrong types)
	CodeInvalid      = "validation_failed" // well-formed but a field is wrong
	CodeUnauthorized = "unauthorized"      // no or unknown API key
	CodeForbidden    = "forbidden"         // the key's role may not do this
	CodeNotFound     = "not_found"
	CodeMethod       = "method_not_allowed"
	CodeConflict     = "conflict"
	CodeTooLarge     = "too_large"
	CodeMediaType    = "unsupported_media_type" // send Content-Type: application/json
	CodeInternal     = "internal"
	CodeUnavailable  = "unavailable" // a dependency is down; retry later
)

// Error is the one error shape of the API:
//
//	{"status":422,"code":"validation_failed","message":"…","field":"phone","errors":[{"field":"phone","message":"…"}]}
type Error struct {
	Status  int          `json:"status" doc:"HTTP status"`
	Code    string       `json:"code" doc:"Stable machine-readable code" enum:"bad_request,validation_failed,unauthorized,forbidden,not_found,method_not_allowed,conflict,too_large,unsupported_media_type,internal,unavailable"`
	Message string       `json:"message" doc:"What is wrong, for people"`
	Field   string       `json:"field,omitempty" doc:"The first field at fault, e.g. start or steps[1].timing"`
	Errors  []FieldError `json:"errors,omitempty" doc:"Every field at fault"`
}

// FieldError is one invalid field.
type FieldError struct {
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func (e *Error) Error() string  { return e.Message }
func (e *Error) GetStatus() int { return e.Status }

// msgUnknownPatient is the answer to an appointment whose patient the
// clinic has not sent.
const msgUnknownPatient = "no patient with this id; PUT /v1/patients/{id} first"

// retryAfter is the Retry-After (seconds) of every 503: Beckon's own
// transient failures, such as a database with no connection to give.
const retryAfter = "5"

// GetHeaders gives a 503 its Retry-After (huma sets the headers of an error
// a handler returns; writeError and fhirFail do the same).
func (e *Error) GetHeaders() http.Header {
	if e.Status == http.StatusServiceUnavailable {
		return http.Header{"Retry-After": {retryAfter}}
	}
	return nil
}

// setErrorHeaders copies e's headers onto an answer being written.
func setErrorHeaders(w http.ResponseWriter, e *Error) {
	for k, vs := range e.GetHeaders() {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
}

// ContentType makes the error JSON whatever the request accepted.
func (e *Error) ContentType(string) string { return "application/json" }

func newError(status int, code, msg string, fields ...FieldError) *Error {
	e := &Error{Status: status, Code: code, Message: msg, Errors: fields}
	if len(fields) > 0 {
		e.Field = fields[0].Field
	}
	return e
}

func invalid(field, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return newError(http.StatusUnprocessableEntity, CodeInvalid, field+": "+msg, FieldError{Field: field, Message: msg})
}

// fieldErrors collects validation errors of one request.
type fieldErrors []FieldError

func (fe *fieldErrors) add(field, format string, args ...any) {
	*fe = append(*fe, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (fe fieldErrors) err() error {
	if len(fe) == 0 {
		return nil
	}
	msg := fe[0].Field + ": " + fe[0].Message
	if len(fe) > 1 {
		msg = fmt.Sprintf("%s (and %d more)", msg, len(fe)-1)
	}
	return newError(http.StatusUnprocessableEntity, CodeInvalid, msg, fe...)
}

var installErrors sync.Once

// installErrorShape makes huma produce Error for its own errors (validation,
// malformed bodies, unknown routes), and sets how strictly huma reads bodies.
// huma keeps these in package variables; every Beckon server sets the same.
//
//   - Keys are matched to fields with their exact case: "First_Name" is an
//     unknown field, not another spelling of first_name that the decoder
//     would take but the validator would not check.
//   - A missing required property is named by the property (see
//     formatError), not by the object that lacks it.
//   - Arrays are not nullable: "steps": null is not an empty list of steps
//     (an optional array may still be omitted).
func installErrorShape() {
	installErrors.Do(func() {
		huma.ValidateStrictCasing = true
		huma.DefaultArrayNullable = false
		huma.ErrorFormatter = formatError
		huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
			var fields []FieldError
			for _, err := range errs {
				var d *huma.ErrorDetail
				if errors.As(err, &d) {
					fields = append(fields, FieldError{Field: detailField(d), Message: d.Message})
					continue
				}
				if err != nil {
					fields = append(fields, FieldError{Message: err.Error()})
				}
			}
			code := codeFor(status)
			if status == http.StatusUnsupportedMediaType {
				msg = "send the body as JSON with Content-Type: application/json"
			} else if status == http.StatusUnprocessableEntity || status == http.StatusBadRequest {
				if len(fields) > 0 && fields[0].Field != "" {
					msg = fields[0].Field + ": " + fields[0].Message
				} else if len(fields) > 0 {
					msg = msg + ": " + fields[0].Message
				}
			}
			return newError(status, code, msg, fields...)
		}
	})
}

// requiredProperties maps the message huma gives a missing required
// property to the property's name. huma reports that error on the parent
// object, with the name only inside its text; it formats each such message
// once per schema, when an operation is registered, through
// huma.ErrorFormatter: formatError keeps the name there, as an argument.
var requiredProperties sync.Map // message → property name

// formatError is huma.ErrorFormatter: fmt.Sprintf that remembers the
// property of each "required property" message it formats.
func formatError(format string, args ...any) string {
	msg := fmt.Sprintf(format, args...)
	if format == validation.MsgExpectedRequiredProperty && len(args) == 1 {
		if name, ok := args[0].(string); ok {
			requiredProperties.Store(msg, name)
		}
	}
	return msg
}

// detailField names the field of a huma error detail; a missing required
// property is reported on its parent, so name the property itself.
func detailField(d *huma.ErrorDetail) string {
	f := fieldName(d.Location)
	if name, ok := requiredProperties.Load(d.Message); ok {
		if f == "" {
			return name.(string)
		}
		return f + "." + name.(string)
	}
	return f
}

// fieldName turns huma's location ("body.patient.phone", "path.id") into the
// field name the client wrote.
func fieldName(loc string) string {
	if rest, ok := strings.CutPrefix(loc, "body."); ok {
		return rest
	}
	if loc == "body" {
		return ""
	}
	return loc
}

func codeFor(status int) string {
	switch status {
	case http.StatusBadRequest:
		return CodeBadRequest
	case http.StatusUnprocessableEntity:
		return CodeInvalid
	case http.StatusUnauthorized:
		return CodeUnauthorized
	case http.StatusForbidden:
		return CodeForbidden
	case http.StatusNotFound:
		return CodeNotFound
	case http.StatusMethodNotAllowed:
		return CodeMethod
	case http.StatusConflict:
		return CodeConflict
	case http.StatusRequestEntityTooLarge:
		return CodeTooLarge
	case http.StatusUnsupportedMediaType:
		return CodeMediaType
	}
	if status == http.StatusServiceUnavailable {
		return CodeUnavailable
	}
	if status >= 500 {
		return CodeInternal
	}
	return CodeBadRequest
}

// mapError turns a domain error into the API error: the one place where store
// and service errors meet HTTP. Internal errors are logged here, by id only.
func (s *Server) mapError(op string, err error) error {
	var (
		apiErr *Error
		item   *scheduler.ItemError
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &apiErr):
		return apiErr
	case errors.Is(err, beckon.ErrNotFound):
		return newError(http.StatusNotFound, CodeNotFound, "not found")
	case errors.As(err, &item) && errors.Is(item.Err, scheduler.ErrUnknownPatient):
		// One appointment of POST /v1/appointments/batch.
		return invalid(fmt.Sprintf("appointments[%d].%s", item.Index, item.Field), msgUnknownPatient)
	case errors.Is(err, scheduler.ErrUnknownPatient):
		return invalid("patient_id", msgUnknownPatient)
	case errors.Is(err, beckon.ErrConflict):
		return newError(http.StatusConflict, CodeConflict, "changed concurrently; retry")
	case errors.Is(err, beckon.ErrUnavailable):
		// Connections exhausted or the database unreachable: every operation,
		// read or write, gets the same retryable answer.
		s.logger.Warn("database unavailable", "op", op, "error", err.Error())
		return newError(http.StatusServiceUnavailable, CodeUnavailable, "the database is busy or unreachable; retry shortly")
	case errors.Is(err, beckon.ErrInvalidData):
		// A permanent error: the same request would fail again. Its text
		// names the operation and the database's code, never the value.
		s.logger.Warn("request refused by the database", "op", op, "error", err.Error())
		return newError(http.StatusUnprocessableEntity, CodeInvalid, "a value cannot be stored: text must be valid UTF-8 without NUL characters, within its length limit")
	}
	s.logger.Error("request failed", "op", op, "error", err.Error())
	return newError(http.StatusInternalServerError, CodeInternal, "internal error")
}
