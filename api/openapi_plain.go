package api

import (
	"net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/beckonhealth/beckon/channels/sendgrid"
	"github.com/beckonhealth/beckon/channels/twilio"
	"github.com/beckonhealth/beckon/links"
)

// The OpenAPI document's description of the plain routes (plain_routes.go):
// they are served by their own handlers (raw bodies for signatures, HL7 and
// FHIR media types, HTML pages), so huma does not see them; their operations
// are added here by hand. Also: the document's servers, licence, and a
// security declaration on every operation (public ones declare none).

// PlainExtension marks the operations served by their own handlers (raw
// bodies, HL7, FHIR, form and HTML media types) rather than by huma's JSON
// decoding: a client or fuzzer of the JSON API can tell them apart.
const PlainExtension = "x-beckon-plain"

// public is the security of an operation anyone may call.
var public = []map[string][]string{}

// Tags of the plain operations.
const (
	tagFeeds    = "EHR feeds"
	tagWebhooks = "Provider webhooks"
	tagLinks    = "Email links"
)

// completeDocument adds what huma does not generate.
func (s *Server) completeDocument(doc *huma.OpenAPI) {
	doc.Info.License = &huma.License{Name: "Apache-2.0", Identifier: "Apache-2.0"}
	url := s.cfg.ServerURL
	if url == "" {
		url = s.cfg.Delivery.PublicURL
	}
	if url == "" {
		url = "/" // relative: the origin the document was fetched from
	}
	doc.Servers = []*huma.Server{{URL: url, Description: "This Beckon installation"}}
	ops := plainOperations()
	if o := s.metricsOperation(); o != nil {
		ops = append(ops, o)
		if s.cfg.MetricsToken != "" {
			doc.Components.SecuritySchemes["metricsToken"] = &huma.SecurityScheme{Type: "http", Scheme: "bearer", Description: "The metrics scraper's token (BECKON_METRICS_TOKEN)."}
		}
	}
	for _, o := range ops {
		o.Extensions = map[string]any{PlainExtension: true}
		doc.AddOperation(o)
	}
	for _, item := range doc.Paths {
		for _, o := range []*huma.Operation{item.Get, item.Put, item.Post, item.Patch, item.Delete, item.Head, item.Options} {
			if o != nil && o.Security == nil {
				o.Security = public
			}
		}
	}
}

func plainOperations() []*huma.Operation {
	clinicParam := &huma.Param{
		Name: ClinicParam, In: "query", Schema: &huma.Schema{Type: "string"},
		Description: "The clinic the callback is for; its own provider credentials verify it (Beckon puts this in every callback URL it gives the provider).",
	}
	twilioSig := &huma.Param{
		Name: twilio.SignatureHeader, In: "header", Required: true, Schema: &huma.Schema{Type: "string"},
		Description: "Twilio's signature over the URL as called and the form fields.",
	}
	form := func(desc string) *huma.RequestBody {
		return &huma.RequestBody{Required: true, Description: desc, Content: map[string]*huma.MediaType{
			"application/x-www-form-urlencoded": {Schema: &huma.Schema{Type: "object", AdditionalProperties: true}},
		}}
	}
	fhirBody := func(desc string) *huma.RequestBody {
		return &huma.RequestBody{Required: true, Description: desc, Content: map[string]*huma.MediaType{
			"application/fhir+json": {Schema: &huma.Schema{Type: "object", AdditionalProperties: true}},
		}}
	}
	fhirOK := func(desc string, statuses ...int) map[string]*huma.Response {
		r := map[string]*huma.Response{}
		for _, st := range statuses {
			d := http.StatusText(st)
			if st < 300 {
				d = desc
			}
			r[strconv.Itoa(st)] = &huma.Response{Description: d, Content: map[string]*huma.MediaType{
				"application/fhir+json": {Schema: &huma.Schema{Type: "object", AdditionalProperties: true, Description: "A FHIR resource; errors are an OperationOutcome."}},
			}}
		}
		return r
	}
	idParam := &huma.Param{Name: "id", In: "path", Required: true, Schema: &huma.Schema{Type: "string"}, Description: "The appointment's id in the EHR (Appointment.id)."}
	tokenParam := &huma.Param{Name: "token", In: "path", Required: true, Schema: &huma.Schema{Type: "string"}, Description: "The signed link token from the email."}
	fhirOp := func(id, method, path, summary, desc string, params []*huma.Param, body *huma.RequestBody, ok int) *huma.Operation {
		return &huma.Operation{
			OperationID: id, Method: method, Path: path, Tags: []string{tagFeeds}, Summary: summary, Description: desc,
			Security: bearer, Parameters: params, RequestBody: body,
			Responses: fhirOK(summary, ok, 400, 401, 403, 404, 413, 415, 422, 503),
		}
	}
	return []*huma.Operation{
		{
			OperationID: "hl7-v2", Method: http.MethodPost, Path: "/hl7/v2", Tags: []string{tagFeeds},
			Summary:     "Send one HL7 v2 message (SIU, ADT) over HTTP",
			Description: "The body is one ER7 message; the answer is its ACK. 200 whenever the ACK carries the verdict (AA, AE, AR); 422 with the ACK when the body is not text in the character set MSH-18 declares; 503 when Beckon failed and the sender should retry. An admin or ehr key.",
			Security:    bearer,
			RequestBody: &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{
				"x-application/hl7-v2+er7": {Schema: &huma.Schema{Type: "string", Description: "An ER7-encoded message (segments separated by CR), at most 1 MiB."}},
			}},
			Responses: map[string]*huma.Response{
				"200": hl7Ack("The ACK (AA, AE or AR)"),
				"401": errorResponse(http.StatusUnauthorized),
				"403": errorResponse(http.StatusForbidden),
				"413": errorResponse(http.StatusRequestEntityTooLarge),
				"422": hl7Ack("The ACK (AE or AR): the body is not readable text"),
				"503": hl7Ack("The ACK (AE): Beckon failed; retry"),
			},
		},
		{
			OperationID: "fhir-metadata", Method: http.MethodGet, Path: "/fhir/r4/metadata", Tags: []string{tagFeeds},
			Summary: "The FHIR CapabilityStatement", Description: "What this FHIR R4 endpoint accepts. Public.",
			Security: public, Responses: fhirOK("The CapabilityStatement", 200),
		},
		fhirOp("fhir-appointment-create", http.MethodPost, "/fhir/r4/Appointment", "Create or update an appointment from a FHIR Appointment",
			"The Appointment must carry its id (the EHR's); contained or referenced Patient. An admin or ehr key.", nil, fhirBody("A FHIR R4 Appointment"), 201),
		fhirOp("fhir-appointment-put", http.MethodPut, "/fhir/r4/Appointment/{id}", "Create or update an appointment from a FHIR Appointment",
			"An admin or ehr key.", []*huma.Param{idParam}, fhirBody("A FHIR R4 Appointment whose id is the path's"), 200),
		fhirOp("fhir-appointment-get", http.MethodGet, "/fhir/r4/Appointment/{id}", "Read an appointment as a FHIR Appointment",
			"An admin or ehr key.", []*huma.Param{idParam}, nil, 200),
		fhirOp("fhir-bundle", http.MethodPost, "/fhir/r4", "Apply a FHIR batch or transaction Bundle",
			"Also accepted at /fhir/r4/. An admin or ehr key.", nil, fhirBody("A FHIR R4 Bundle (batch or transaction) of Appointments"), 200),
		fhirOp("fhir-notify", http.MethodPost, "/fhir/r4/notify", "Receive an R4 Subscriptions backport notification",
			"Beckon fetches the notified Appointments from the clinic's FHIR base. An admin or ehr key.", nil, fhirBody("A subscription-notification Bundle"), 200),
		{
			OperationID: "twilio-status", Method: http.MethodPost, Path: TwilioStatusPath, Tags: []string{tagWebhooks},
			Summary:     "Twilio message status callback",
			Description: "Public: trusted by its signature only. Accepted statuses are stored and applied by a worker.",
			Security:    public,
			Parameters: []*huma.Param{clinicParam, twilioSig, {
				Name: twilio.SendIDParam, In: "query", Schema: &huma.Schema{Type: "string"}, Description: "The send the message belongs to.",
			}},
			RequestBody: form("Twilio's status fields (MessageSid, MessageStatus, ErrorCode, …)"),
			Responses:   webhookResponses(&huma.Response{Description: "Accepted"}, http.StatusNoContent),
		},
		{
			OperationID: "twilio-sms", Method: http.MethodPost, Path: TwilioSMSPath, Tags: []string{tagWebhooks},
			Summary:     "Twilio inbound message (a patient's reply)",
			Description: "Public: trusted by its signature only. The message is stored and interpreted by a worker; the answer is an empty TwiML document.",
			Security:    public,
			Parameters:  []*huma.Param{clinicParam, twilioSig},
			RequestBody: form("Twilio's inbound message fields (From, To, Body, MessageSid, NumSegments, OptOutType)"),
			Responses: webhookResponses(&huma.Response{Description: "Accepted (empty TwiML)", Content: map[string]*huma.MediaType{
				"text/xml": {Schema: &huma.Schema{Type: "string"}},
			}}, http.StatusOK),
		},
		{
			OperationID: "sendgrid-events", Method: http.MethodPost, Path: SendGridEventsPath, Tags: []string{tagWebhooks},
			Summary:     "SendGrid signed event webhook",
			Description: "Public: trusted by its ECDSA signature only, within a replay window. Events are stored and applied by a worker.",
			Security:    public,
			Parameters: []*huma.Param{clinicParam,
				{Name: sendgrid.SignatureHeader, In: "header", Required: true, Schema: &huma.Schema{Type: "string"}, Description: "ECDSA signature over the timestamp and raw body."},
				{Name: sendgrid.TimestampHeader, In: "header", Required: true, Schema: &huma.Schema{Type: "string"}, Description: "Unix time the batch was signed."},
			},
			RequestBody: &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{
				"application/json": {Schema: &huma.Schema{Type: "array", Items: &huma.Schema{Type: "object", AdditionalProperties: true}}},
			}},
			Responses: webhookResponses(&huma.Response{Description: "Accepted"}, http.StatusNoContent),
		},
		{
			OperationID: "link-show", Method: http.MethodGet, Path: links.PathPrefix + "{token}", Tags: []string{tagLinks},
			Summary:     "An email link's page: what its button will do",
			Description: "Public: the signed token is the capability. Changes nothing (mail scanners follow links).",
			Security:    public,
			Parameters:  []*huma.Param{tokenParam},
			Responses:   linkResponses("The page with one button"),
		},
		{
			OperationID: "link-use", Method: http.MethodPost, Path: links.PathPrefix + "{token}", Tags: []string{tagLinks},
			Summary:     "Use an email link: confirm, cancel or unsubscribe",
			Description: "Public: the signed token is the capability. Confirm and cancel work once; unsubscribe answers the same when repeated. RFC 8058 one-click unsubscribe: the body List-Unsubscribe=One-Click.",
			Security:    public,
			Parameters:  []*huma.Param{tokenParam},
			RequestBody: form("The page's form, or List-Unsubscribe=One-Click"),
			Responses:   linkResponses("The result page"),
		},
	}
}

// errorResponse is an answer in the API's error shape.
func errorResponse(status int) *huma.Response {
	return &huma.Response{Description: http.StatusText(status), Content: map[string]*huma.MediaType{
		"application/json": {Schema: &huma.Schema{Ref: "#/components/schemas/Error"}},
	}}
}

func hl7Ack(desc string) *huma.Response {
	return &huma.Response{Description: desc, Content: map[string]*huma.MediaType{
		"x-application/hl7-v2+er7": {Schema: &huma.Schema{Type: "string"}},
	}}
}

func webhookResponses(ok *huma.Response, status int) map[string]*huma.Response {
	return map[string]*huma.Response{
		strconv.Itoa(status): ok,
		"400":                errorResponse(http.StatusBadRequest),
		"403":                errorResponse(http.StatusForbidden),
		"413":                errorResponse(http.StatusRequestEntityTooLarge),
		"503":                errorResponse(http.StatusServiceUnavailable),
	}
}

func linkResponses(desc string) map[string]*huma.Response {
	page := func(d string) *huma.Response {
		return &huma.Response{Description: d, Content: map[string]*huma.MediaType{"text/html": {Schema: &huma.Schema{Type: "string"}}}}
	}
	return map[string]*huma.Response{
		"200": page(desc),
		"400": page("A forged or malformed token"),
		"410": page("An expired link, or its appointment is gone"),
		"503": page("Beckon cannot answer now; retry"),
	}
}
