package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/api"
	"github.com/beckonhealth/beckon/channels/twilio"
	"github.com/beckonhealth/beckon/channels/twilio/twiliotest"
)

// The replies phase: patients answer the reminder they were sent through
// Twilio's signed incoming-message webhook, and each answer goes the whole
// way — the webhook stores the message and queues its interpretation, the
// worker confirms the appointment and plans the answer "reply_confirmed",
// and the worker delivers the answer to the Twilio stand-in.

// replyBodies are what the patients answer, in turn.
var replyBodies = []string{"C", "yes I'll be there"}

// replyConnections is how many webhooks are in flight at once in the
// as-fast-as-possible run (Twilio posts over many connections).
const replyConnections = 64

// benchReplies sets up the patients and their messaged appointments, then
// posts their replies at -reply-rate for -duration and, after that, -replies
// more as fast as it can, and measures both.
func (s *stack) benchReplies(ctx context.Context) ([]result, error) {
	steadyN := int(float64(s.cfg.replyRate) * s.cfg.duration.Seconds())
	total := steadyN + s.cfg.replies
	if steadyN <= 0 || s.cfg.replies <= 0 {
		return nil, fmt.Errorf("-reply-rate × -duration and -replies must both give at least one reply")
	}
	c, err := s.messagedPatients(ctx, total)
	if err != nil {
		return nil, err
	}
	var out []result
	steady, err := s.postReplies(ctx, c, 0, steadyN, s.cfg.replyRate)
	if err != nil {
		return nil, err
	}
	m, err := s.measureReplies(ctx, c, steady)
	if err != nil {
		return nil, err
	}
	out = append(out, m.results("replies", fmt.Sprintf("at %d/s", s.cfg.replyRate), true)...)
	burst, err := s.postReplies(ctx, c, steadyN, s.cfg.replies, 0)
	if err != nil {
		return nil, err
	}
	if m, err = s.measureReplies(ctx, c, burst); err != nil {
		return nil, err
	}
	return append(out, m.results("replies", "as fast as possible", false)...), nil
}

// replyPhone is patient i's number, distinct for each.
func replyPhone(i int) string { return fmt.Sprintf("+1628%07d", 2_000_000+i) }

// messagedPatients makes a clinic whose n patients, each with a number of
// their own, have an appointment tomorrow whose reminder (24 hours before)
// the worker has sent through the stand-in: what makes a reply about it.
func (s *stack) messagedPatients(ctx context.Context, n int) (beckon.Clinic, error) {
	c, err := s.campaignClinic(ctx, "replies", 24*time.Hour)
	if err != nil {
		return c, err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i := range n {
		g.Go(func() error {
			_, _, err := s.svc.UpsertPatient(gctx, beckon.Patient{ClinicID: c.ID, ID: fmt.Sprintf("r%d", i), FirstName: "Pat", Phone: replyPhone(i), Language: "en"}, "bench")
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return c, err
	}
	start := s.arrivals.count()
	due := time.Now().Add(leadTime(n)).Truncate(time.Second)
	if err := s.bookFor(ctx, c, n, func(int) time.Time { return due }, 24*time.Hour, func(i int) string { return fmt.Sprintf("r%d", i) }); err != nil {
		return c, err
	}
	if _, err := s.arrivals.wait(ctx, start+n, due.Add(30*time.Minute)); err != nil {
		return c, fmt.Errorf("the reminders: %w", err)
	}
	// The stand-in has them; the worker records them sent just after.
	return c, s.waitSent(ctx, c.ID, n, time.Now().Add(time.Minute))
}

// waitSent polls the store until the clinic has n sends recorded sent.
func (s *stack) waitSent(ctx context.Context, clinicID string, n int, deadline time.Time) error {
	db, err := s.openDB()
	if err != nil {
		return err
	}
	defer db.Close()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		var got int
		err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sends WHERE clinic_id = $1 AND status = 'sent' AND sent_at IS NOT NULL`, clinicID).Scan(&got)
		if err != nil {
			return err
		}
		if got >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d reminders recorded sent", got, n)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// posted is one run of replies: the appointments a<from>…a<from+n-1>, when
// each webhook was posted and whether Twilio would have seen 200.
type posted struct {
	from, n  int
	rate     int // 0: as fast as possible
	start    int // arrivals at the stand-in before the run
	sentAt   []time.Time
	doneAt   []time.Time
	accepted []bool
	cpu      time.Duration // this process's CPU time when the run began
}

// postReplies posts patient i's signed reply for i in [from, from+n): rate
// a second, each when its time comes whatever the ones before it are doing,
// or, with rate 0, over replyConnections connections as fast as Beckon
// answers.
func (s *stack) postReplies(ctx context.Context, c beckon.Clinic, from, n, rate int) (*posted, error) {
	p := &posted{from: from, n: n, rate: rate, start: s.arrivals.count(),
		sentAt: make([]time.Time, n), doneAt: make([]time.Time, n), accepted: make([]bool, n), cpu: cpuTime()}
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 1024}}
	defer client.CloseIdleConnections()
	query := "?" + api.ClinicParam + "=" + url.QueryEscape(c.ID)
	env := s.settings("")
	// Twilio signs the URL it was given: the public one.
	signedURL := env["BECKON_PUBLIC_URL"] + api.TwilioSMSPath + query
	post := func(k int) {
		i := from + k
		form := url.Values{
			"AccountSid": {twiliotest.AccountSID}, "MessageSid": {replySID()}, "SmsStatus": {"received"},
			"From": {replyPhone(i)}, "To": {env["BECKON_TWILIO_FROM"]},
			"Body": {replyBodies[i%len(replyBodies)]}, "NumSegments": {"1"}, "NumMedia": {"0"}, "ApiVersion": {"2010-04-01"},
		}
		sig := twiliotest.Sign(twiliotest.AuthToken, signedURL, form)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+api.TwilioSMSPath+query, strings.NewReader(form.Encode()))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(twilio.SignatureHeader, sig)
		p.sentAt[k] = time.Now()
		resp, err := client.Do(req)
		p.doneAt[k] = time.Now()
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		p.accepted[k] = resp.StatusCode == http.StatusOK
	}
	var wg sync.WaitGroup
	if rate == 0 {
		next := make(chan int)
		for range replyConnections {
			wg.Go(func() {
				for k := range next {
					post(k)
				}
			})
		}
		for k := range n {
			select {
			case next <- k:
			case <-ctx.Done():
			}
		}
		close(next)
		wg.Wait()
		return p, ctx.Err()
	}
	began := time.Now()
	step := time.Second / time.Duration(rate)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for k := range n {
		timer.Reset(time.Until(began.Add(time.Duration(k) * step)))
		select {
		case <-timer.C:
		case <-ctx.Done():
			wg.Wait()
			return p, ctx.Err()
		}
		wg.Go(func() { post(k) })
	}
	wg.Wait()
	return p, nil
}

// replySID is a new Twilio message id.
func replySID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "SM" + hex.EncodeToString(b[:])
}

// measured is what became of one run of replies.
type measured struct {
	p                     *posted
	accepted              int
	confirmations         int             // appointments confirmed once
	confirmationsMissing  int             // accepted replies without a confirmation
	confirmationsDup      int             // confirmations beyond one per appointment
	answers               int             // appointments whose answer reached the stand-in once
	answersMissing        int             // accepted replies without an answer at the stand-in
	answersDup            int             // answers beyond one per appointment at the stand-in
	toConfirmation        []time.Duration // webhook posted → confirmation recorded, sorted
	toAnswer              []time.Duration // webhook posted → answer at the stand-in, sorted
	toResponse            []time.Duration // webhook posted → its response, sorted
	cpu                   time.Duration   // this process's CPU from the first webhook to the last answer
	firstPost, lastAccept time.Time
	lastConfirmation      time.Time
	lastAnswer            time.Time
}

// answerWait is how long, after the last webhook, the answers may take to
// reach the stand-in before the missing ones are counted missing.
const answerWait = 2 * time.Minute

// measureReplies waits for the answers of p's accepted replies (or
// answerWait), then reads the confirmations and the answers from the store
// and from the stand-in's arrivals.
func (s *stack) measureReplies(ctx context.Context, c beckon.Clinic, p *posted) (measured, error) {
	m := measured{p: p}
	for k := range p.n {
		if p.sentAt[k].IsZero() {
			continue
		}
		if m.firstPost.IsZero() || p.sentAt[k].Before(m.firstPost) {
			m.firstPost = p.sentAt[k]
		}
		if p.accepted[k] {
			m.accepted++
			if p.doneAt[k].After(m.lastAccept) {
				m.lastAccept = p.doneAt[k]
			}
		}
	}
	if _, err := s.arrivals.wait(ctx, p.start+m.accepted, time.Now().Add(answerWait)); err != nil && ctx.Err() != nil {
		return m, err
	} // else: the missing ones are counted below
	m.cpu = cpuTime() - p.cpu
	confirmedAt, err := s.confirmations(ctx, c.ID)
	if err != nil {
		return m, err
	}
	answerOf, err := s.answerSends(ctx, c.ID)
	if err != nil {
		return m, err
	}
	times, sends := s.arrivals.since(p.start)
	answeredAt := map[string][]time.Time{}
	for j, id := range sends {
		if a, ok := answerOf[id]; ok {
			answeredAt[a] = append(answeredAt[a], times[j])
		}
	}
	for k := range p.n {
		a := fmt.Sprintf("a%d", p.from+k)
		cs, as := confirmedAt[a], answeredAt[a]
		m.confirmationsDup += max(len(cs)-1, 0)
		m.answersDup += max(len(as)-1, 0)
		if !p.accepted[k] {
			continue
		}
		m.toResponse = append(m.toResponse, p.doneAt[k].Sub(p.sentAt[k]))
		if len(cs) == 0 {
			m.confirmationsMissing++
		} else {
			m.confirmations++
			m.toConfirmation = append(m.toConfirmation, cs[0].Sub(p.sentAt[k]))
			m.lastConfirmation = latest(m.lastConfirmation, cs[0])
		}
		if len(as) == 0 {
			m.answersMissing++
		} else {
			m.answers++
			m.toAnswer = append(m.toAnswer, as[0].Sub(p.sentAt[k]))
			m.lastAnswer = latest(m.lastAnswer, as[0])
		}
	}
	slices.Sort(m.toConfirmation)
	slices.Sort(m.toAnswer)
	slices.Sort(m.toResponse)
	return m, nil
}

func cpuPer(cpu time.Duration, n int) float64 {
	return float64(cpu.Microseconds()) / float64(max(n, 1))
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// confirmations are the clinic's confirmations by appointment, each at the
// time the confirmation path recorded it (its clock, in the transaction that
// interpreted the reply).
func (s *stack) confirmations(ctx context.Context, clinicID string) (map[string][]time.Time, error) {
	db, err := s.openDB()
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT appointment_id, at FROM confirmations WHERE clinic_id = $1 ORDER BY at`, clinicID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]time.Time{}
	for rows.Next() {
		var a string
		var at int64
		if err := rows.Scan(&a, &at); err != nil {
			return nil, err
		}
		out[a] = append(out[a], time.UnixMilli(at))
	}
	return out, rows.Err()
}

// answerSends maps the clinic's answers (message sends in reply to an
// inbound message) to the appointments they are about.
func (s *stack) answerSends(ctx context.Context, clinicID string) (map[string]string, error) {
	db, err := s.openDB()
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT send_id, appointment_id FROM send_messages WHERE clinic_id = $1 AND in_reply_to <> ''`, clinicID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, a string
		if err := rows.Scan(&id, &a); err != nil {
			return nil, err
		}
		out[id] = a
	}
	return out, rows.Err()
}

// results are the figures of one run; steady runs report latencies, the
// as-fast-as-possible run rates.
func (m measured) results(phase, run string, steady bool) []result {
	ms := func(ds []time.Duration, q float64) float64 {
		if len(ds) == 0 {
			return -1
		}
		return float64(ds[int(q*float64(len(ds)-1))].Microseconds()) / 1000
	}
	per := func(n int, end time.Time) float64 {
		if n == 0 || !end.After(m.firstPost) {
			return 0
		}
		return float64(n) / end.Sub(m.firstPost).Seconds()
	}
	name := func(s string) string { return s + " (" + run + ")" }
	out := []result{
		{phase, name("replies posted"), float64(m.p.n), "count"},
		{phase, name("webhooks refused or failed"), float64(m.p.n - m.accepted), "count"},
		{phase, name("confirmations missing"), float64(m.confirmationsMissing), "count"},
		{phase, name("confirmations duplicated"), float64(m.confirmationsDup), "count"},
		{phase, name("answers missing at the stand-in"), float64(m.answersMissing), "count"},
		{phase, name("answers duplicated at the stand-in"), float64(m.answersDup), "count"},
		{phase, name("replies/s end to end (answer at the stand-in)"), per(m.answers, m.lastAnswer), "1/s"},
		{phase, name("process CPU per reply (Beckon and the bench's HTTP client)"), cpuPer(m.cpu, m.p.n), "µs"},
		{phase, name("webhook response p50"), ms(m.toResponse, 0.5), "ms"},
		{phase, name("webhook response p99"), ms(m.toResponse, 0.99), "ms"},
	}
	if steady {
		return append(out,
			result{phase, name("webhook → confirmation recorded p50"), ms(m.toConfirmation, 0.5), "ms"},
			result{phase, name("webhook → confirmation recorded p99"), ms(m.toConfirmation, 0.99), "ms"},
			result{phase, name("webhook → confirmation recorded max"), ms(m.toConfirmation, 1), "ms"},
			result{phase, name("webhook → answer at the stand-in p50"), ms(m.toAnswer, 0.5), "ms"},
			result{phase, name("webhook → answer at the stand-in p99"), ms(m.toAnswer, 0.99), "ms"},
		)
	}
	return append(out,
		result{phase, name("webhooks accepted/s"), per(m.accepted, m.lastAccept), "1/s"},
		result{phase, name("confirmations/s"), per(m.confirmations, m.lastConfirmation), "1/s"},
	)
}
