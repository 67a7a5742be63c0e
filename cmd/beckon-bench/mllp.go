package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/beckonhealth/beckon"
)

// mllpConns is how many connections the interface engine stand-in opens.
const mllpConns = 4

// benchMLLP measures SIU S12 messages per second over MLLP to serve's
// listener, each a new appointment for a new patient, planned with a
// three-step campaign; the clinic is found by the sending facility (MSH-4),
// and every message waits for its ACK on its connection, as interface
// engines do.
func (s *stack) benchMLLP(ctx context.Context) ([]result, error) {
	c, key, err := s.clinic(ctx, "mllp")
	if err != nil {
		return nil, err
	}
	if err := s.call(ctx, key, http.MethodPut, "/v1/clinic/feeds", map[string]any{"sending_facilities": []string{"BENCH"}}); err != nil {
		return nil, err
	}
	_, _, err = s.svc.PutCampaign(ctx, beckon.Campaign{
		ClinicID: c.ID, ID: "reminders", Name: "Reminders", Active: true,
		Steps: []beckon.Step{
			{ID: "sms-72h", Timing: beckon.Timing{Kind: beckon.TimingOffset, Offset: -72 * time.Hour}, Channel: beckon.ChannelSMS, Template: "appointment_reminder"},
			{ID: "sms-24h", Timing: beckon.Timing{Kind: beckon.TimingOffset, Offset: -24 * time.Hour}, Channel: beckon.ChannelSMS, Template: "appointment_reminder_confirm", OnlyIfUnconfirmed: true},
			{ID: "day-before", Timing: beckon.Timing{Kind: beckon.TimingDay, Day: -1, AtMinute: 9 * 60}, Channel: beckon.ChannelSMS, Template: "appointment_reminder"},
		},
	}, "bench")
	if err != nil {
		return nil, err
	}
	n := s.cfg.hl7
	start := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Minute)
	began := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	for k := range mllpConns {
		g.Go(func() error {
			conn, err := (&net.Dialer{}).DialContext(gctx, "tcp", s.app.MLLPAddr())
			if err != nil {
				return err
			}
			defer conn.Close()
			r := bufio.NewReader(conn)
			for i := k; i < n; i += mllpConns {
				if _, err := conn.Write(siuFrame(i, start.Add(time.Duration(i)*10*time.Second))); err != nil {
					return err
				}
				ack, err := readFrame(r)
				if err != nil {
					return err
				}
				if !bytes.Contains(ack, []byte("MSA|AA|")) {
					return fmt.Errorf("message %d not accepted: %q", i, firstSegments(ack))
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	took := time.Since(began)
	return []result{
		{"mllp", "SIU S12 messages", float64(n), "count"},
		{"mllp", "messages/s (4 connections, ACK each)", float64(n) / took.Seconds(), "1/s"},
	}, nil
}

// siuFrame is an MLLP frame holding an SIU^S12 for appointment i.
func siuFrame(i int, start time.Time) []byte {
	ts := time.Now().UTC().Format("20060102150405")
	msg := fmt.Sprintf("MSH|^~\\&|EHR|BENCH|BECKON|BECKON|%s||SIU^S12^SIU_S12|B%d|P|2.5.1\r"+
		"SCH|PL-%d^EHR|FL-%d^EHR|||||CHECKUP^Checkup^LOCAL|NORMAL^Normal^HL70277|||||||||||||||||Booked^Booked^HL70278\r"+
		"PID|1||MRN%d^^^BENCH^MR||Patient^Pat||19850412|F|||||^PRN^CP^^1^415^555%04d||ENG^English^ISO6392\r"+
		"PV1|1|O|CLINIC^1^^BENCH\r"+
		"RGS|1|A\r"+
		"AIG|1|A|DR1^Dr One|PROVIDER||||%s|||30|MIN^minutes\r",
		ts, i, i, i, i, i%10000, start.Format("20060102150405"))
	return append(append([]byte{0x0b}, msg...), 0x1c, 0x0d)
}

// readFrame reads one MLLP frame and returns the message inside it.
func readFrame(r *bufio.Reader) ([]byte, error) {
	if b, err := r.ReadByte(); err != nil || b != 0x0b {
		return nil, errors.Join(errors.New("mllp: frame does not start with 0x0B"), err)
	}
	msg, err := r.ReadBytes(0x1c)
	if err != nil {
		return nil, err
	}
	if b, err := r.ReadByte(); err != nil || b != 0x0d {
		return nil, errors.Join(errors.New("mllp: frame does not end with 0x1C 0x0D"), err)
	}
	return msg[:len(msg)-1], nil
}

// firstSegments is the start of an ACK, for an error message (no PHI: ACKs
// carry codes and control ids).
func firstSegments(ack []byte) string {
	return string(ack[:min(len(ack), 200)])
}
