package api

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"strings"

	"github.com/beckonhealth/beckon/links"
)

// The pages a patient sees when they open an email link. Plain HTML, no
// external assets, in English or Spanish.

//go:embed pages/link.html
var pagesFS embed.FS

var linkPage = template.Must(template.ParseFS(pagesFS, "pages/link.html"))

// linkPageData is what pages/link.html shows.
type linkPageData struct {
	Lang, Title, Message string
	Clinic               string
	DateLabel, TimeLabel string
	Date, Time           string
	Button               string // empty: no form
	Token                string
}

// pageWords are a page's words in one language.
type pageWords struct {
	date, time string
	ask        map[string][2]string // action → title, button
	askMsg     map[string]string
	done       map[string][2]string // action → title, message
	used       [2]string
	expired    [2]string
	gone       [2]string
	invalid    [2]string
	crossSite  [2]string
	busy       [2]string
}

var linkWords = map[string]pageWords{
	"en": {
		date: "Date", time: "Time",
		ask: map[string][2]string{
			links.Confirm:     {"Confirm your appointment", "Confirm appointment"},
			links.Cancel:      {"Cancel your appointment", "Ask to cancel"},
			links.Unsubscribe: {"Unsubscribe from emails", "Unsubscribe"},
		},
		askMsg: map[string]string{
			links.Confirm:     "Press the button to confirm that you will attend this appointment.",
			links.Cancel:      "Press the button to ask the clinic to cancel this appointment.",
			links.Unsubscribe: "Press the button to stop receiving emails from this clinic.",
		},
		done: map[string][2]string{
			links.Confirm:     {"Appointment confirmed", "Thank you. Your appointment is confirmed."},
			links.Cancel:      {"Cancellation requested", "Thank you. The clinic has your request to cancel this appointment."},
			links.Unsubscribe: {"You are unsubscribed", "You will no longer receive emails from this clinic."},
		},
		used:      [2]string{"Link already used", "This link has already been used. Nothing was changed."},
		expired:   [2]string{"Link expired", "This link has expired. Nothing was changed. Please contact the clinic."},
		gone:      [2]string{"Link no longer valid", "This appointment can no longer be changed with this link. Please contact the clinic."},
		invalid:   [2]string{"Link not valid", "This link is not valid. Please use the link in your email as it is."},
		crossSite: [2]string{"Request refused", "Please use the button on the page this link opens."},
		busy:      [2]string{"Please try again", "We cannot handle this right now. Nothing was changed. Please try again in a few minutes."},
	},
	"es": {
		date: "Fecha", time: "Hora",
		ask: map[string][2]string{
			links.Confirm:     {"Confirme su cita", "Confirmar cita"},
			links.Cancel:      {"Cancelar su cita", "Pedir cancelación"},
			links.Unsubscribe: {"Darse de baja de los correos", "Darme de baja"},
		},
		askMsg: map[string]string{
			links.Confirm:     "Pulse el botón para confirmar que asistirá a esta cita.",
			links.Cancel:      "Pulse el botón para pedir a la clínica que cancele esta cita.",
			links.Unsubscribe: "Pulse el botón para dejar de recibir correos de esta clínica.",
		},
		done: map[string][2]string{
			links.Confirm:     {"Cita confirmada", "Gracias. Su cita está confirmada."},
			links.Cancel:      {"Cancelación pedida", "Gracias. La clínica ha recibido su petición de cancelar esta cita."},
			links.Unsubscribe: {"Se ha dado de baja", "Ya no recibirá correos de esta clínica."},
		},
		used:      [2]string{"Enlace ya usado", "Este enlace ya se usó. No se cambió nada."},
		expired:   [2]string{"Enlace caducado", "Este enlace ha caducado. No se cambió nada. Comuníquese con la clínica."},
		gone:      [2]string{"Enlace ya no válido", "Esta cita ya no se puede cambiar con este enlace. Comuníquese con la clínica."},
		invalid:   [2]string{"Enlace no válido", "Este enlace no es válido. Use el enlace de su correo tal como está."},
		crossSite: [2]string{"Petición rechazada", "Use el botón de la página que abre este enlace."},
		busy:      [2]string{"Inténtelo de nuevo", "No podemos atender esto ahora. No se cambió nada. Inténtelo de nuevo en unos minutos."},
	},
}

// pageLang is the language of a page: the patient's when known, else the
// browser's first choice between English and Spanish.
func pageLang(patientLang string, r *http.Request) string {
	l := strings.ToLower(patientLang)
	if l == "" {
		l = strings.ToLower(strings.TrimSpace(r.Header.Get("Accept-Language")))
	}
	if strings.HasPrefix(l, "es") {
		return "es"
	}
	return "en"
}

// writePage answers with the page d and status.
func writePage(w http.ResponseWriter, status int, d linkPageData) {
	var buf bytes.Buffer
	if err := linkPage.Execute(&buf, d); err != nil {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// writeNotice answers with a page that only says something (title, message).
func writeNotice(w http.ResponseWriter, status int, lang string, words [2]string) {
	writePage(w, status, linkPageData{Lang: lang, Title: words[0], Message: words[1]})
}
