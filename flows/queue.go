package flows

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// What a "yes" leads to: a handoff node's priority and queue chosen by conditions, what a
// caller hears while waiting in the queue, and the offer of a callback instead. The edge
// enqueues the call with a wait URL; each wait webhook asks the engine (Flow.Wait) what
// the caller hears next, from Twilio's queue figures.

// Choice picks a value by conditions: the first case whose conditions all hold, else
// Default. The conditions are a branch's.
type Choice[T any] struct {
	Cases   []ChoiceCase[T] `json:"cases"`
	Default T               `json:"default"`
}

// ChoiceCase is one case of a Choice.
type ChoiceCase[T any] struct {
	When  []Condition `json:"when"`
	Value T           `json:"value"`
}

// QueueTarget is a handoff's queue: a name ("agents"), or a Choice of names
// ({"cases": [...], "default": "general"}). In JSON it is either.
type QueueTarget struct {
	Name   string
	Choice *Choice[string]
}

// QueueNamed is the queue called name.
func QueueNamed(name string) QueueTarget { return QueueTarget{Name: name} }

// IsZero reports whether no queue is set.
func (q QueueTarget) IsZero() bool { return q.Name == "" && q.Choice == nil }

// MarshalJSON writes a name as a string, a choice as an object.
func (q QueueTarget) MarshalJSON() ([]byte, error) {
	if q.Choice != nil {
		return json.Marshal(q.Choice)
	}
	return json.Marshal(q.Name)
}

// UnmarshalJSON reads a string or a choice.
func (q *QueueTarget) UnmarshalJSON(b []byte) error {
	*q = QueueTarget{}
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &q.Name)
	}
	if string(b) == "null" {
		return nil
	}
	var c Choice[string]
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return errors.New("queue must be a queue name or {\"cases\": [...], \"default\": \"name\"}")
	}
	q.Choice = &c
	return nil
}

// Wait is what a caller waiting in the queue hears: an announcement of their place and
// the wait (templates may read queue.position and queue.wait_minutes) every EverySeconds
// (45 when 0), and music between (an http(s) audio URL; silence when empty).
type Wait struct {
	Announce     Text   `json:"announce,omitempty"`
	Music        string `json:"music,omitempty"`
	EverySeconds int    `json:"every_seconds,omitempty"`
}

// CallbackOffer offers a waiting caller a callback instead of waiting: after
// OfferAfterSeconds (60 when 0) in the queue, Offer is said ("press 1"; 2 keys another
// number in); the callback keeps the caller's place, and Confirm says when it comes.
// DialWhen are conditions (a branch's) that must hold when the callback is dialed;
// MaxAttempts (3 when 0, at most 5) bounds the tries. Answer is what the member hears
// when they pick up the callback (a built-in sentence per language when empty).
type CallbackOffer struct {
	OfferAfterSeconds int         `json:"offer_after_seconds,omitempty"`
	Offer             Text        `json:"offer"`
	Confirm           Text        `json:"confirm"`
	DialWhen          []Condition `json:"dial_when,omitempty"`
	MaxAttempts       int         `json:"max_attempts,omitempty"`
	Answer            Text        `json:"answer,omitempty"`
}

const (
	defaultEverySeconds = 45
	defaultOfferAfter   = 60
	defaultMaxAttempts  = 3
	// MaxWaitMinutes is the longest wait said as a number: above it the caller hears
	// "more than 30 minutes".
	MaxWaitMinutes = 30
	maxPriority    = 1<<31 - 1
)

// queueName is what Twilio takes as a queue's friendly name.
var queueName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$`)

// cqueue is a handoff's compiled priority, queue choice, wait and callback.
type cqueue struct {
	prioCases  []ccase // next holds the value as text
	prioValues []int
	prioDflt   int
	hasPrio    bool
	queueCases []ccase
	queueNames []string
	wait       *cwait
	callback   *ccallback
}

type cwait struct {
	announce ctext
	music    string
	every    int
}

type ccallback struct {
	offerAfter  int
	offer       ctext
	confirm     ctext
	answer      ctext
	dialWhen    []ccond
	maxAttempts int
}

// compileQueue checks a handoff's priority, queue cases, wait and callback.
func (c *compiler) compileQueue(cn *cnode, n *Node, path string) {
	q := &cqueue{}
	if p := n.Priority; p != nil {
		q.hasPrio = true
		pp := join(path, "priority")
		for i, k := range p.Cases {
			kp := join(join(pp, "cases"), strconv.Itoa(i))
			q.prioCases = append(q.prioCases, ccase{when: c.conditions(join(kp, "when"), k.When)})
			if k.Value < 0 || k.Value > maxPriority {
				c.add(join(kp, "value"), "a priority is a whole number from 0 to %d", maxPriority)
			}
			q.prioValues = append(q.prioValues, k.Value)
		}
		if p.Default < 0 || p.Default > maxPriority {
			c.add(join(pp, "default"), "a priority is a whole number from 0 to %d", maxPriority)
		}
		q.prioDflt = p.Default
	}
	if ch := n.Queue.Choice; ch != nil {
		qp := join(path, "queue")
		for i, k := range ch.Cases {
			kp := join(join(qp, "cases"), strconv.Itoa(i))
			q.queueCases = append(q.queueCases, ccase{when: c.conditions(join(kp, "when"), k.When)})
			c.checkQueueName(join(kp, "value"), k.Value)
			q.queueNames = append(q.queueNames, strings.TrimSpace(k.Value))
		}
		c.checkQueueName(join(qp, "default"), ch.Default)
	}
	if w := n.Wait; w != nil {
		wp := join(path, "wait")
		q.wait = &cwait{music: strings.TrimSpace(w.Music)}
		q.wait.announce = c.queueText(join(wp, "announce"), w.Announce, false)
		if q.wait.music != "" {
			if msg := checkAudioURL(q.wait.music); msg != "" {
				c.add(join(wp, "music"), "%s", msg)
			}
		}
		q.wait.every = c.bounded(join(wp, "every_seconds"), w.EverySeconds, defaultEverySeconds, 10, 600, " seconds")
	}
	if cb := n.Callback; cb != nil {
		cp := join(path, "callback")
		q.callback = &ccallback{
			offerAfter:  c.bounded(join(cp, "offer_after_seconds"), cb.OfferAfterSeconds, defaultOfferAfter, 0, 3600, " seconds"),
			offer:       c.queueText(join(cp, "offer"), cb.Offer, true),
			confirm:     c.queueText(join(cp, "confirm"), cb.Confirm, true),
			answer:      c.text(join(cp, "answer"), cb.Answer, false, false),
			dialWhen:    c.conditions(join(cp, "dial_when"), cb.DialWhen),
			maxAttempts: c.bounded(join(cp, "max_attempts"), cb.MaxAttempts, defaultMaxAttempts, 1, 5, ""),
		}
		if cb.OfferAfterSeconds == 0 {
			q.callback.offerAfter = defaultOfferAfter
		}
		if c.opts.NoCallbacks {
			c.warn(cp, "callbacks are not configured on this service (Twilio credentials and TWILIO_CALLER_ID): the offer is not made")
		}
	}
	if q.wait == nil && q.callback != nil {
		q.wait = &cwait{every: defaultEverySeconds}
	}
	cn.queueing = q
}

func (c *compiler) conditions(path string, when []Condition) []ccond {
	var out []ccond
	for j, w := range when {
		out = append(out, c.condition(join(path, strconv.Itoa(j)), w))
	}
	return out
}

func (c *compiler) checkQueueName(path, name string) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		c.add(path, "a queue name is required")
	case !queueName.MatchString(name):
		c.add(path, "a queue name is 1 to 64 letters, digits, spaces, _ . or -")
	}
}

// queueText compiles a text that may read queue.position and queue.wait_minutes.
func (c *compiler) queueText(path string, t Text, required bool) ctext {
	c.queueFields = true
	defer func() { c.queueFields = false }()
	return c.text(path, t, required, false)
}

// QueueInfo is what Twilio tells a wait URL about the caller's place in the queue.
type QueueInfo struct {
	Position  int           // 1 is next; 0 unknown
	QueueTime time.Duration // how long the caller has waited
	AvgTime   time.Duration // the queue's average wait; 0 unknown
	Size      int           // callers in the queue
}

// WaitMinutes is the estimated wait in whole minutes (at least 1), and false when it is
// not known: the callers ahead times the queue's average time per caller.
func (q QueueInfo) WaitMinutes() (int, bool) {
	if q.Position <= 0 || q.AvgTime <= 0 {
		return 0, false
	}
	per := q.AvgTime
	if q.Size > 1 {
		per = q.AvgTime / time.Duration(q.Size)
	}
	est := per * time.Duration(q.Position)
	if est > 24*time.Hour || est < 0 {
		return MaxWaitMinutes + 1, true
	}
	m := int((est + time.Minute - 1) / time.Minute)
	return max(m, 1), true
}

// waitWords says a wait of m minutes in lang: "1 minute", "5 minutes", "more than 30
// minutes".
func waitWords(lang string, m int) string {
	over := m > MaxWaitMinutes
	n := min(m, MaxWaitMinutes)
	one := n == 1 || (primaryLanguage(lang) == "fr" && n <= 1)
	unit := map[string][2]string{"en": {"minute", "minutes"}, "es": {"minuto", "minutos"}, "fr": {"minute", "minutes"},
		"pt": {"minuto", "minutos"}}[primaryLanguage(lang)]
	if unit[0] == "" {
		unit = [2]string{"minute", "minutes"}
	}
	word := unit[1]
	if one && !over {
		word = unit[0]
	}
	if over {
		more := map[string]string{"en": "more than", "es": "más de", "fr": "plus de", "pt": "mais de"}[primaryLanguage(lang)]
		if more == "" {
			more = "more than"
		}
		return fmt.Sprintf("%s %d %s", more, MaxWaitMinutes, unit[1])
	}
	return fmt.Sprintf("%d %s", n, word)
}

// choosePriority is the handoff's priority for the call: the first case that holds.
func (r *run) choosePriority(q *cqueue) (int, bool) {
	if q == nil || !q.hasPrio {
		return 0, false
	}
	s := r.scope()
	for i, k := range q.prioCases {
		if allHold(k.when, s) {
			return q.prioValues[i], true
		}
	}
	return q.prioDflt, true
}

// chooseQueue is the handoff's queue for the call.
func (r *run) chooseQueue(n *cnode) string {
	q := n.queueing
	if q == nil || len(q.queueCases) == 0 && n.queue != "" {
		return n.queue
	}
	s := r.scope()
	for i, k := range q.queueCases {
		if allHold(k.when, s) {
			return q.queueNames[i]
		}
	}
	return n.queue // the choice's default
}

func allHold(when []ccond, s *scope) bool {
	for _, c := range when {
		if !c.holds(s) {
			return false
		}
	}
	return true
}

// WaitTurn is what a caller waiting in the queue hears next: say and play actions, and,
// when Offer, a Gather (its prompts the offer and the music) whose keys the edge sends to
// the callback route. AnnouncedAt is the queue time of this announcement, for the next
// wait webhook (announce again every EverySeconds).
type WaitTurn struct {
	Actions     []Action
	Offer       bool
	AnnouncedAt time.Duration
	PauseFor    int // seconds of silence when there is no music
}

// Wait is what the caller hears at the wait URL of the handoff node st.Node, with the
// queue's figures: the announcement when due (lastAnnounced is the queue time of the last
// one, -1 for none), then the music, or a pause, and the callback offer once the caller
// has waited long enough. An unknown position or estimate is never announced.
func (f *Flow) Wait(call Call, st State, q QueueInfo, lastAnnounced time.Duration, callbacks bool) (WaitTurn, error) {
	p, err := f.program()
	if err != nil {
		return WaitTurn{}, err
	}
	n := p.nodes[st.Node]
	if n == nil || n.typ != string(NodeHandoff) || n.queueing == nil || n.queueing.wait == nil {
		return WaitTurn{}, fmt.Errorf("%w: node %q has no wait", ErrState, st.Node)
	}
	var r run
	r.init(p, call, st)
	r.queue = &q
	w := n.queueing.wait
	wt := WaitTurn{AnnouncedAt: lastAnnounced}
	due := lastAnnounced < 0 || q.QueueTime-lastAnnounced >= time.Duration(w.every)*time.Second
	if _, tpl := r.template(w.announce); tpl != nil && due && q.Position > 0 {
		_, known := q.WaitMinutes()
		if known || !tpl.readsWait() {
			r.actions()
			r.say(n, w.announce, &r.turn.Actions)
			wt.AnnouncedAt = q.QueueTime
		}
	}
	var music []Action
	if w.music != "" {
		music = []Action{{Kind: ActPlay, URL: w.music}}
	} else {
		wt.PauseFor = w.every
	}
	cb := n.queueing.callback
	if callbacks && cb != nil && q.QueueTime >= time.Duration(cb.offerAfter)*time.Second && call.Caller.Phone != "" {
		var prompts []Action
		r.say(n, cb.offer, &prompts)
		prompts = append(prompts, music...)
		wt.Offer = true
		r.turn.Actions = append(r.turn.Actions, Action{Kind: ActGather, Gather: &Gather{Input: "dtmf", NumDigits: 1, TimeoutSeconds: 1, Prompts: prompts}})
	} else {
		r.turn.Actions = append(r.turn.Actions, music...)
	}
	wt.Actions = r.done().Actions // done fills in the text of what was said
	return wt, nil
}

// CallbackPlan is what a callback asked for at a handoff needs: where it goes and with
// what, and what the caller hears to confirm it.
type CallbackPlan struct {
	Handoff     Handoff
	Priority    int
	MaxAttempts int
	Language    string
	Confirm     []Action
}

// Callback is the plan for a callback to number asked for at the handoff node st.Node:
// the handoff as the call would have had it, and the confirmation said with the queue's
// estimate and the number's last digits.
func (f *Flow) Callback(call Call, st State, q QueueInfo, number string) (CallbackPlan, error) {
	p, err := f.program()
	if err != nil {
		return CallbackPlan{}, err
	}
	n := p.nodes[st.Node]
	if n == nil || n.typ != string(NodeHandoff) || n.queueing == nil || n.queueing.callback == nil {
		return CallbackPlan{}, fmt.Errorf("%w: node %q offers no callback", ErrState, st.Node)
	}
	var r run
	r.init(p, call, st)
	r.queue = &q
	h := r.handoffOf(n)
	plan := CallbackPlan{Handoff: *h, Priority: h.Priority, MaxAttempts: n.queueing.callback.maxAttempts, Language: r.lang}
	r.call.Caller.Phone = number
	r.say(n, n.queueing.callback.confirm, &plan.Confirm)
	r.done() // fills in the text of what was said
	return plan, nil
}

// CallbackAnswer is what the member hears when they pick up their callback: the node's
// answer text, or a built-in sentence in the call's language.
func (f *Flow) CallbackAnswer(call Call, st State) ([]Action, error) {
	p, err := f.program()
	if err != nil {
		return nil, err
	}
	n := p.nodes[st.Node]
	if n == nil || n.queueing == nil || n.queueing.callback == nil {
		return nil, fmt.Errorf("%w: node %q offers no callback", ErrState, st.Node)
	}
	var r run
	r.init(p, call, st)
	var out []Action
	if n.queueing.callback.answer != nil {
		r.say(n, n.queueing.callback.answer, &out)
		r.done() // fills in the text of what was said
		return out, nil
	}
	text := callbackAnswerText(r.lang, r.member)
	out = append(out, Action{Kind: ActSay, Language: r.lang, Voice: p.voices[r.lang], Speech: Speech{{Text: text}}})
	return out, nil
}

// callbackAnswerText is the built-in answer of a callback: "Hello Marisol, this is the call
// back you asked for about your trip to Reykjavik. Press 1 to be connected now."
func callbackAnswerText(lang string, m *Member) string {
	name, about := "", ""
	if m != nil {
		name = m.FirstName
		if a := m.Activity; a != nil && a.Place != "" {
			about = a.Place
		}
	}
	var text string
	switch primaryLanguage(lang) {
	case "es":
		text = "Hola " + name + ". Le devolvemos la llamada que pidió" + pick(about != "", " sobre su viaje a "+about, "") + ". Pulse 1 para hablar con un agente."
	case "fr":
		text = "Bonjour " + name + ". Nous vous rappelons comme demandé" + pick(about != "", " au sujet de votre voyage à "+about, "") + ". Appuyez sur 1 pour parler à un agent."
	case "pt":
		text = "Olá " + name + ". Este é o retorno que você pediu" + pick(about != "", " sobre sua viagem para "+about, "") + ". Pressione 1 para falar com um agente."
	default:
		text = "Hello " + name + ", this is the call back you asked for" + pick(about != "", " about your trip to "+about, "") + ". Press 1 to be connected now."
	}
	// The builder drops the space a missing name leaves before the punctuation, as it
	// does for every template ("Hello, this is…").
	var b speechBuilder
	b.text(text)
	return b.speech().String()
}

// DialWindow reports whether the callback offered at handoff node node may be dialed
// at now (its dial_when holds for the member), and else the next minute within a week
// when it does (zero when none).
func (f *Flow) DialWindow(node string, m *Member, now time.Time) (bool, time.Time) {
	p, err := f.program()
	if err != nil {
		return true, time.Time{}
	}
	n := p.nodes[node]
	if n == nil || n.queueing == nil || n.queueing.callback == nil || len(n.queueing.callback.dialWhen) == 0 {
		return true, time.Time{}
	}
	when := n.queueing.callback.dialWhen
	s := &scope{member: m, zone: p.zone, holidays: p.holidays, lang: p.defaultLang, trust: TrustVerified, members: 1}
	if m == nil {
		s.members = 0
	}
	s.now = now
	if allHold(when, s) {
		return true, time.Time{}
	}
	t := now.Truncate(time.Minute)
	for i := 1; i <= 7*24*60; i++ {
		s.now = t.Add(time.Duration(i) * time.Minute)
		if allHold(when, s) {
			return false, s.now
		}
	}
	return false, time.Time{}
}

// The edge's own sentences, said (or texted) in the call's language: the callbacks' and
// the answers to SMS keywords.
const (
	PhraseEnterNumber  = "enter_number"  // asks for another number to call back
	PhraseCannotCall   = "cannot_call"   // that number cannot be called back
	PhraseAlreadyWaits = "already_waits" // a callback is due already (%s: the wait)
	PhraseVoicemail    = "voicemail"     // left on a voicemail
	PhraseNotAvailable = "not_available" // the callback could not be stored
	PhraseSMSStop      = "sms_stop"      // an SMS STOP was heard
	PhraseSMSStart     = "sms_start"     // an SMS START was heard
	PhraseSMSHelp      = "sms_help"      // an SMS HELP was heard
)

var phrases = map[string]map[string]string{
	"en": {PhraseEnterNumber: "Enter the number to call you back at, then press pound.",
		PhraseCannotCall:   "Sorry, we can't call that number back. You keep your place in line.",
		PhraseAlreadyWaits: "You already have a call back coming in about %s. You keep your place in line.",
		PhraseVoicemail:    "Hello, this is the call back you asked for. We're sorry we missed you; please call us again.",
		PhraseNotAvailable: "Sorry, we can't arrange a call back right now. You keep your place in line.",
		PhraseSMSStop:      "You will get no more messages from this line. Reply START to get them again.",
		PhraseSMSStart:     "You will get messages from this line again. Reply STOP to stop them.",
		PhraseSMSHelp:      "Messages about your calls to this line. Reply STOP to stop them, START to get them again."},
	"es": {PhraseEnterNumber: "Marque el número al que le devolvemos la llamada y luego la tecla numeral.",
		PhraseCannotCall:   "Lo sentimos, no podemos llamar a ese número. Conserva su lugar en la fila.",
		PhraseAlreadyWaits: "Ya tiene una llamada de vuelta en unos %s. Conserva su lugar en la fila.",
		PhraseVoicemail:    "Hola, le devolvemos la llamada que pidió. Lamentamos no encontrarle; llámenos de nuevo.",
		PhraseNotAvailable: "Lo sentimos, ahora no podemos programar la llamada. Conserva su lugar en la fila.",
		PhraseSMSStop:      "No recibirá más mensajes de esta línea. Responda START para recibirlos de nuevo.",
		PhraseSMSStart:     "Volverá a recibir mensajes de esta línea. Responda STOP para dejar de recibirlos.",
		PhraseSMSHelp:      "Mensajes sobre sus llamadas a esta línea. Responda STOP para dejar de recibirlos, START para recibirlos de nuevo."},
	"fr": {PhraseEnterNumber: "Composez le numéro où vous rappeler, puis le carré.",
		PhraseCannotCall:   "Désolé, nous ne pouvons pas rappeler ce numéro. Vous gardez votre place.",
		PhraseAlreadyWaits: "Un rappel est déjà prévu dans environ %s. Vous gardez votre place.",
		PhraseVoicemail:    "Bonjour, nous vous rappelons comme demandé. Désolés de vous avoir manqué; rappelez-nous.",
		PhraseNotAvailable: "Désolé, nous ne pouvons pas prévoir de rappel pour l'instant. Vous gardez votre place.",
		PhraseSMSStop:      "Vous ne recevrez plus de messages de cette ligne. Répondez START pour les recevoir de nouveau.",
		PhraseSMSStart:     "Vous recevrez de nouveau les messages de cette ligne. Répondez STOP pour les arrêter.",
		PhraseSMSHelp:      "Messages au sujet de vos appels à cette ligne. Répondez STOP pour les arrêter, START pour les recevoir de nouveau."},
	"pt": {PhraseEnterNumber: "Digite o número para o retorno e depois a tecla jogo da velha.",
		PhraseCannotCall:   "Desculpe, não podemos ligar para esse número. Você mantém seu lugar na fila.",
		PhraseAlreadyWaits: "Você já tem um retorno em cerca de %s. Você mantém seu lugar na fila.",
		PhraseVoicemail:    "Olá, este é o retorno que você pediu. Sentimos não encontrá-lo; ligue de novo.",
		PhraseNotAvailable: "Desculpe, não podemos agendar o retorno agora. Você mantém seu lugar na fila.",
		PhraseSMSStop:      "Você não receberá mais mensagens desta linha. Responda START para recebê-las de novo.",
		PhraseSMSStart:     "Você voltará a receber mensagens desta linha. Responda STOP para pará-las.",
		PhraseSMSHelp:      "Mensagens sobre suas chamadas para esta linha. Responda STOP para pará-las, START para recebê-las de novo."},
}

// Phrase is one of the Phrase* sentences in the language the call speaks, chosen as for
// every prompt of the call (the caller's choice, else the member's, else the flow's
// default; English for a flow that cannot be run or a language without the phrases),
// with a wait of minutes filled in where it says one.
func (f *Flow) Phrase(call Call, st State, key string, minutes int) Action {
	lang := "en-US"
	if p, err := f.program(); err == nil {
		var r run
		r.init(p, call, st)
		lang = r.lang
	}
	byLang := phrases[primaryLanguage(lang)]
	if byLang == nil {
		byLang, lang = phrases["en"], "en-US"
	}
	text := byLang[key]
	if strings.Contains(text, "%s") {
		text = fmt.Sprintf(text, waitWords(lang, max(minutes, 1)))
	}
	voice := ""
	if f != nil && f.prog != nil {
		voice = f.prog.voices[lang]
	}
	return Action{Kind: ActSay, Language: lang, Voice: voice, Speech: Speech{{Text: text}}}
}
