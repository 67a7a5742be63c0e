package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/beckonhealth/beckon/channels/twilio/twiliotest"
	"github.com/beckonhealth/beckon/tasks"
)

// redisSwitch is a loopback TCP proxy in front of a Redis server that a test
// turns off (connections refused, open ones cut) and on again, on the same
// port: Redis going away and coming back, as the program sees it.
type redisSwitch struct {
	t      *testing.T
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

// newRedisSwitch proxies to the Redis of redisURL and returns the switch and
// the URL that goes through it.
func newRedisSwitch(t *testing.T, redisURL string) (*redisSwitch, string) {
	t.Helper()
	u, err := url.Parse(redisURL)
	if err != nil {
		t.Fatalf("REDIS_URL: %v", err)
	}
	s := &redisSwitch{t: t, target: u.Host, addr: freeAddr(t), conns: map[net.Conn]bool{}}
	s.on()
	t.Cleanup(func() {
		s.off()
		s.wg.Wait()
	})
	u.Host = s.addr
	return s, u.String()
}

func (s *redisSwitch) on() {
	s.t.Helper()
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatalf("redis switch on: %v", err)
	}
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.pipe(c)
			}()
		}
	}()
}

func (s *redisSwitch) off() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		s.ln.Close()
		s.ln = nil
	}
	for c := range s.conns {
		c.Close()
	}
	clear(s.conns)
}

// pipe copies between the client and a new connection to Redis until either
// ends or the switch goes off.
func (s *redisSwitch) pipe(client net.Conn) {
	server, err := net.Dial("tcp", s.target)
	if err != nil {
		client.Close()
		return
	}
	s.mu.Lock()
	if s.ln == nil { // switched off meanwhile
		s.mu.Unlock()
		client.Close()
		server.Close()
		return
	}
	s.conns[client], s.conns[server] = true, true
	s.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(server, client); done <- struct{}{} }()
	go func() { _, _ = io.Copy(client, server); done <- struct{}{} }()
	<-done
	client.Close()
	server.Close()
	<-done
	s.mu.Lock()
	delete(s.conns, client)
	delete(s.conns, server)
	s.mu.Unlock()
}

// statusRecheck is a little more than the pump's StatusRecheck (5 s).
const statusRecheck = 6 * time.Second

// redisPower turns the Redis a running Beckon uses off and on.
type redisPower interface {
	off()
	on()
}

// embeddedRedis is the in-process Redis of `beckon serve`: closed and
// restarted on the same port with its data.
type embeddedRedis struct {
	t *testing.T
	m *Main
}

func (e embeddedRedis) off() { e.m.App.EmbeddedRedis().Close() }

func (e embeddedRedis) on() {
	if err := e.m.App.EmbeddedRedis().Restart(); err != nil {
		e.t.Fatalf("restart the in-process redis: %v", err)
	}
}

// TestProvidersCallbacksWhileRedisIsDown: status callbacks (a Twilio
// delivered, an undelivered that asks for the fallback email, a SendGrid
// delivered event) that arrive while Redis is unreachable are acknowledged,
// and applied once Redis is back: each once, with one fallback email.
func TestProvidersCallbacksWhileRedisIsDown(t *testing.T) {
	t.Parallel()
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			extra := map[string]string{}
			var sw *redisSwitch
			if backend == "servers" {
				sw, extra["BECKON_REDIS_URL"] = newRedisSwitch(t, os.Getenv("REDIS_URL"))
			}
			p := startProvidersClock(t, backend, extra)
			var redis redisPower = sw
			if sw == nil {
				redis = embeddedRedis{t, p.m}
			}
			p.mustCall(http.StatusCreated, http.MethodPut, "/v1/campaigns/down", map[string]any{
				"name": "Down",
				"steps": []map[string]any{
					{"id": "ok", "offset": "-56s", "channel": "sms", "content": map[string]any{"en": map[string]any{"text": "Hi {{.Patient.FirstName}}"}}},
					{"id": "fb", "offset": "-56s", "channel": "sms", "fallback": true,
						"content": map[string]any{"en": map[string]any{"subject": "Reminder", "text": "Hi {{.Patient.FirstName}}, see you soon."}}},
				},
			}, nil)
			// Due in 4 s, the appointment a minute away: the fallback, planned
			// once Redis is back, must still come before it starts.
			appt := p.book("apt-down", 60*time.Second)
			okSend, fbSend := appt.send("ok", 1), appt.send("fb", 1)
			p.advanceTo(okSend.DueAt)
			okSID, fbSID := p.waitMessage(okSend.ID, "queued").ProviderID, p.waitMessage(fbSend.ID, "queued").ProviderID
			ctx := context.Background()
			post := func(sid, status string, code int) {
				t.Helper()
				got, err := p.tw.PostStatus(ctx, twiliotest.Callback{SID: sid, Status: status, ErrorCode: code})
				if err != nil || got != http.StatusNoContent {
					t.Fatalf("%s callback with Redis down: %d %v, want 204", status, got, err)
				}
			}

			redis.off()
			post(okSID, "delivered", 0)
			post(fbSID, "undelivered", 30003)
			post(fbSID, "undelivered", 30003) // Twilio's retry
			for _, id := range []string{okSend.ID, fbSend.ID} {
				if m, _ := p.message(id); m.Status != "queued" || len(m.Events) != 1 {
					t.Fatalf("message of %s changed while Redis was down: %+v", id, m)
				}
			}
			redis.on()
			// A status stored while Redis was down goes to asynq once it has
			// been pending for the status recheck (5 s of the clock).
			p.advanceTo(p.now().Add(statusRecheck))
			p.waitMessage(okSend.ID, "delivered")
			p.waitMessage(fbSend.ID, "undelivered")
			fallback := p.waitSend("apt-down", fbSend.ID+"~fallback", "sent")
			waitFor(t, 30*time.Second, "the fallback email", func() bool { return len(p.sg.Accepted()) == 1 })
			p.waitMessage(fallback.ID, "queued")

			// The fallback email's events, while Redis is down again.
			redis.off()
			msgID := p.sg.Accepted()[0].MessageID
			events := []map[string]any{
				{"email": email, "timestamp": p.now().Unix(), "event": "processed", "sg_event_id": "down-1", "sg_message_id": msgID + ".filter0001.1", "send_id": fallback.ID, "clinic_id": p.m.App.DemoClinicID},
				{"email": email, "timestamp": p.now().Unix(), "event": "delivered", "sg_event_id": "down-2", "sg_message_id": msgID + ".filter0001.1", "send_id": fallback.ID, "clinic_id": p.m.App.DemoClinicID},
			}
			if code := p.postEvents(events, p.signSG); code != http.StatusNoContent {
				t.Fatalf("sendgrid events with Redis down: %d, want 204", code)
			}
			redis.on()
			p.advanceTo(p.now().Add(statusRecheck))
			p.waitMessage(fallback.ID, "delivered")

			// Everything applied, once: the inbox holds nothing pending, the
			// status tasks are done, and each message has one event a status.
			waitFor(t, 30*time.Second, "the status inbox to be applied", func() bool {
				pending, err := p.m.App.Store().StatusInboxListPending(ctx, p.now().Add(time.Hour), 10)
				return err == nil && len(pending) == 0
			})
			clinic := p.m.App.DemoClinicID
			p.waitTasksGone(
				tasks.StatusTaskID("twilio", clinic, okSID+":delivered"),
				tasks.StatusTaskID("twilio", clinic, fbSID+":undelivered"),
				tasks.StatusTaskID("sendgrid", clinic, "down-1"),
				tasks.StatusTaskID("sendgrid", clinic, "down-2"),
				fallback.ID,
			)
			for id, want := range map[string]int{okSend.ID: 2, fbSend.ID: 2, fallback.ID: 3} {
				if m, _ := p.message(id); len(m.Events) != want {
					t.Fatalf("message of %s: %d events %+v, want %d (each status once)", id, len(m.Events), m.Events, want)
				}
			}
			if n, c := len(p.sg.Accepted()), len(creates(p.tw)); n != 1 || c != 2 {
				t.Fatalf("%d emails and %d SMS, want one fallback email and two SMS", n, c)
			}
			if p.m.App.Redis().Ping(ctx).Err() != nil {
				t.Fatal(errors.New("redis is not back"))
			}
			assertNoPHI(t, p.logs.String(), phone, email)
		})
	}
}
