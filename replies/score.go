package replies

// signals is what the words of a reply point at.
type signals struct {
	confirm, cancel, reschedule, hedge bool
	unknown                            int
}

// confirmPhrases confirm when not negated ("be there"; "won't be there"
// cancels).
var confirmPhrases = [][2]string{
	{"be", "there"}, {"see", "you"}, {"will", "do"}, {"make", "it"}, {"will", "come"}, {"ill", "come"}, {"will", "attend"},
	{"ill", "attend"}, {"count", "me"}, {"sounds", "good"}, {"ahi", "estare"}, {"alli", "estare"},
	{"estare", "ahi"}, {"estare", "alli"}, {"ahi", "estaremos"}, {"alli", "estaremos"}, {"nos", "vemos"},
	{"de", "acuerdo"}, {"alla", "estare"}, {"aqui", "estare"},
}

// reschedulePhrases ask for another time.
var reschedulePhrases = [][2]string{
	{"another", "time"}, {"another", "day"}, {"another", "date"}, {"different", "time"}, {"different", "day"},
	{"different", "date"}, {"new", "time"}, {"new", "appointment"}, {"otro", "dia"}, {"otra", "fecha"},
	{"otra", "hora"}, {"otro", "horario"}, {"otro", "dia"}, {"nueva", "cita"}, {"nueva", "fecha"},
}

// negationReach is how many words a negation reaches in its clause: "won't
// be able to make it".
const negationReach = 5

// score weighs the words of a reply that is neither a keyword, an opt-out
// nor a bare number.
func score(m *message, es []entry, spanish bool, open Open) Reply {
	n := len(es)
	var negated [maxTokens]bool
	for i, e := range es {
		if e.c&cNeg == 0 || i+1 < n && es[i+1].c&cNeutral != 0 {
			continue
		}
		for j := i + 1; j < min(n, i+1+negationReach) && !m.toks[j].clause; j++ {
			negated[j] = true
		}
	}
	var s signals
	for i, e := range es {
		w := m.word(i)
		pair := func(ps [][2]string) bool {
			if i+1 >= n || m.toks[i+1].clause {
				return false
			}
			for _, p := range ps {
				if p[0] == w && p[1] == m.word(i+1) {
					return true
				}
			}
			return false
		}
		switch {
		case w == "si" && !m.toks[i].accented && i > 0 && spanish:
			s.hedge = true // "si puedo, voy": if
		case e.c&cYes != 0 || e.c&cYesShort != 0 && n <= 3:
			switch {
			case negated[i] && e.c&cUnsure != 0:
				s.hedge = true
			case negated[i]:
				s.cancel = true
			default:
				s.confirm = true
			}
		case e.c&cNo != 0 && i == 0:
			if i+1 < n && es[i+1].c&cNeutral != 0 {
				break // "no problem"
			}
			if open.Question == Reminder {
				s.cancel = true
			}
		case e.c&cCant != 0:
			if i+1 < n && es[i+1].c&cNeutral != 0 {
				break // "can't wait"
			}
			s.cancel = true
		case e.c&cCancel != 0:
			if negated[i] {
				s.hedge = true // "don't cancel": say it to a person
			} else {
				s.cancel = true
			}
		case e.c&cResched != 0 || e.c&cReschedShort != 0 && n <= 3 || pair(reschedulePhrases):
			if !rescheduleNegated(m, es, i) {
				s.reschedule = true
			}
		case e.c&cAttend != 0 || pair(confirmPhrases):
			if negated[i] {
				s.cancel = true
			} else {
				s.confirm = true
			}
		case open.Question == Reminder && n <= 3 && (w == "1" || w == "2" || w == "3"):
			// the menu's number beside other words: "1 yes", "C 2" (a conflict)
			switch w {
			case "1":
				s.confirm = true
			case "2":
				s.cancel = true
			default:
				s.reschedule = true
			}
		case e.c&cHedge != 0:
			s.hedge = true
		case e.c&cUnsure != 0 && negated[i]:
			s.hedge = true
		case e.c != 0:
		default:
			if _, ok := digits(w); !ok {
				s.unknown++
			}
		}
	}
	switch {
	case s.reschedule:
		return Reply{Intent: Reschedule}
	case s.hedge || m.question || m.truncated:
		return Reply{Intent: Other}
	case s.cancel && s.confirm:
		return Reply{Intent: Other}
	case s.cancel:
		return Reply{Intent: Cancel}
	case s.confirm && n <= maxConfirmWords && s.unknown <= maxConfirmUnknown:
		return Reply{Intent: Confirm}
	}
	return Reply{Intent: Other}
}

// rescheduleNegated is "don't reschedule", "no need to reschedule", "no
// necesito cambiar": the negation in the same clause just before, or before
// a need or a want up to three words before.
func rescheduleNegated(m *message, es []entry, i int) bool {
	isNeg := func(j int) bool { return j >= 0 && es[j].c&cNeg != 0 }
	if i > 0 && !m.toks[i].clause && isNeg(i-1) {
		return true
	}
	for j := i - 1; j >= max(0, i-3); j-- {
		if m.toks[j+1].clause {
			return false
		}
		switch m.word(j) {
		case "need", "want", "have", "necesito", "quiero", "necesitamos", "queremos", "hace":
			return isNeg(j-1) && !m.toks[j].clause
		}
	}
	return false
}
