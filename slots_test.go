package multiserver

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/go-multiserver/multiserver/stack"
)

// TestSlotsShedOrder: when the slots are full, a new conn takes the slot
// of the conn waiting for its peer that made its last progress longest
// ago; finished handshakes and conns waiting for the server are never
// shed, and when only those are left the new conn waits.
func TestSlotsShedOrder(t *testing.T) {
	// ops: "+a" acquires a, "p a" reports progress, "t a" marks the
	// server's turn, "r a" resumes (handshake start), "f a" finishes, "x a"
	// releases. The last op is "+z": want names the conn shed for z, or
	// "wait" if z must wait.
	tests := []struct {
		name string
		max  int
		ops  string
		want string
	}{
		{"room left", 3, "+a +b +z", ""},
		{"oldest start", 2, "+a +b +z", "a"},
		{"progress moves to the back", 2, "+a +b p_a +z", "b"},
		{"progress twice", 3, "+a +b +c p_a p_b +z", "c"},
		{"finished never shed", 2, "+a +b f_a +z", "b"},
		{"all finished: wait", 2, "+a +b f_a f_b +z", "wait"},
		{"server's turn not shed", 2, "+a +b t_a +z", "b"},
		{"server's turn and finished: wait", 2, "+a +b t_a f_b +z", "wait"},
		{"resumed is shed again, by its resume time", 3, "+a +b +c t_a r_a +z", "b"},
		{"resumed alone left", 2, "+a +b t_a f_b r_a +z", "a"},
		{"progress after server's turn", 2, "+a +b t_a p_a +z", "b"},
		{"released makes room", 2, "+a +b x_a +z", ""},
		{"released finished makes room", 2, "+a +b f_a f_b x_b +z", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newSlots(tt.max)
			closed := make(chan struct{})
			close(closed) // a wait returns false at once
			byName := map[string]*slot{}
			var shedName string
			for _, op := range strings.Fields(tt.ops) {
				name := op[len(op)-1:]
				switch op[0] {
				case '+':
					s := newSlot(context.Background(), DefaultHandshakeStepTimeout, ts)
					byName[name] = s
					defer s.end()
					before := map[string]bool{}
					for n, o := range byName {
						before[n] = o.ctx.Err() != nil
					}
					if !ts.acquire(s, closed) {
						if name != "z" {
							t.Fatalf("%s: acquire waited", op)
						}
						shedName = "wait"
						continue
					}
					for n, o := range byName {
						if !before[n] && o.ctx.Err() != nil {
							if context.Cause(o.ctx) != ErrShed {
								t.Errorf("%s ended by %v, want ErrShed", n, context.Cause(o.ctx))
							}
							if name != "z" {
								t.Fatalf("%s shed %s", op, n)
							}
							shedName = n
						}
					}
				case 'p':
					byName[name].progress()
				case 't':
					byName[name].serverTurn()
				case 'r':
					byName[name].resume()
				case 'f':
					if !ts.finished(byName[name]) {
						t.Fatalf("%s: finished reports shed", op)
					}
				case 'x':
					ts.release(byName[name])
				}
			}
			if shedName != tt.want {
				t.Errorf("new conn: shed %q, want %q", shedName, tt.want)
			}
			want := tt.max // full after a shed, or still full after a wait
			if tt.want == "" {
				want = strings.Count(tt.ops, "+") - strings.Count(tt.ops, "x_")
			}
			if ts.n != want {
				t.Errorf("%d slots held, want %d", ts.n, want)
			}
		})
	}
}

// TestSlotsPressure: a handshake's ctx reports pressure
// (stack.UnderPressure) while at least half of the slots are held.
func TestSlotsPressure(t *testing.T) {
	q := newSlots(4)
	var held []*slot
	for n := range 4 {
		sl := newSlot(context.Background(), time.Minute, q)
		if got, want := stack.UnderPressure(sl.ctx), 2*n >= 4; got != want {
			t.Errorf("%d of 4 slots held: UnderPressure %v, want %v", n, got, want)
		}
		if !q.acquire(sl, nil) {
			t.Fatalf("slot %d not acquired", n)
		}
		held = append(held, sl)
	}
	for _, sl := range held {
		q.release(sl)
		sl.end()
	}
	sl := newSlot(context.Background(), time.Minute, q)
	defer sl.end()
	if stack.UnderPressure(sl.ctx) {
		t.Error("all slots released: UnderPressure still true")
	}
}
