package feeds

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beckonhealth/beckon"
)

// groupCommit applies the messages that arrive together on different MLLP
// connections in one transaction (a group commit): each connection hands
// its parsed message over and waits; a group takes the messages waiting,
// applies them together, and wakes their connections, which only then
// acknowledge. A connection has one message in flight (it waits for the
// ACK before sending the next), so a group holds at most one message per
// connection and the messages of a connection apply in order.
//
// Connections that were busy a moment ago are expected back right after
// their ACK; a group waits for them (at most groupLinger) so that they
// share its transaction instead of each paying for one. On PostgreSQL two
// groups run at once, each waiting for half the busy connections: one
// group's statements run while the other's wait on the network and the
// disk. SQLite has one writer, so one group at a time.
type groupCommit struct {
	proc  *HL7Processor
	lanes int // groups applied at once

	jobs     chan *groupJob
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once // starts run, or closes done if it never ran
	stopOnce sync.Once
}

type groupJob struct {
	conn any // the connection it came on
	it   *hl7Item
	done chan struct{}
}

// maxGroup bounds the messages of one transaction; groupLinger bounds how
// long a group waits for the connections that handed a message within
// groupActive.
const (
	maxGroup    = 64
	groupLinger = time.Millisecond
	groupActive = 20 * time.Millisecond
)

func newGroupCommit(proc *HL7Processor) *groupCommit {
	lanes := 1
	if proc.Store != nil && proc.Store.Dialect() == beckon.DialectPostgres {
		lanes = 2
	}
	return &groupCommit{
		proc:  proc,
		lanes: lanes,
		jobs:  make(chan *groupJob),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
}

// start runs the grouping goroutine until close.
func (g *groupCommit) start(ctx context.Context) {
	g.once.Do(func() { go g.run(ctx) })
}

// close stops the grouping goroutine; call it once no connection is left
// to hand it a message. Groups being applied finish first.
func (g *groupCommit) close() {
	g.once.Do(func() { close(g.done) }) // never started
	g.stopOnce.Do(func() { close(g.stop) })
	<-g.done
}

// apply hands it over and returns once it has been applied (or answered).
func (g *groupCommit) apply(conn any, it *hl7Item) {
	j := &groupJob{conn: conn, it: it, done: make(chan struct{})}
	g.jobs <- j
	<-j.done
}

func (g *groupCommit) run(ctx context.Context) {
	var (
		lanes    = make(chan struct{}, g.lanes) // a token per group that may run
		inflight atomic.Int64                   // messages in running groups
		running  sync.WaitGroup
		recent   = map[any]time.Time{} // connection → when it last handed a message
		timer    = time.NewTimer(time.Hour)
	)
	timer.Stop()
	for range g.lanes {
		lanes <- struct{}{}
	}
	defer func() {
		running.Wait()
		close(g.done)
	}()
	for {
		select {
		case <-lanes:
		case <-g.stop:
			return
		}
		var jobs []*groupJob
		select {
		case j := <-g.jobs:
			jobs = append(jobs, j)
		case <-g.stop:
			return
		}
		now := time.Now()
		active := 0
		for c, at := range recent {
			if now.Sub(at) > groupActive {
				delete(recent, c)
				continue
			}
			active++
		}
		recent[jobs[0].conn] = now
		// This group's share of the busy connections, less those whose
		// message is being applied by another group.
		expect := min((active+g.lanes-1)/g.lanes, active-int(inflight.Load()))
		timer.Reset(groupLinger)
	gather:
		for len(jobs) < maxGroup {
			select {
			case j := <-g.jobs:
				jobs = append(jobs, j)
				recent[j.conn] = now
				continue
			default:
			}
			if len(jobs) >= expect {
				break
			}
			select {
			case j := <-g.jobs:
				jobs = append(jobs, j)
				recent[j.conn] = now
			case <-timer.C:
				break gather
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		inflight.Add(int64(len(jobs)))
		running.Add(1)
		go func() {
			defer running.Done()
			items := make([]*hl7Item, len(jobs))
			for i, j := range jobs {
				items[i] = j.it
			}
			g.proc.apply(ctx, items)
			inflight.Add(-int64(len(jobs)))
			for _, j := range jobs {
				close(j.done)
			}
			lanes <- struct{}{}
		}()
	}
}
