package softphone

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Answers supplies the caller's answers; ok is false when there are no more (the caller
// hangs up). echo is the transcript, for what the answer should show there.
type Answers interface {
	Next(ctx context.Context, echo io.Writer) (answer string, ok bool, err error)
}

// Script answers with items in turn, each echoed after the prompt, then hangs up.
func Script(items []string) Answers { return &scriptAnswers{items: items} }

// Lines answers with a line of r each time; echo repeats it in the transcript (for piped
// input, which a terminal does not show).
func Lines(r io.Reader, echo bool) Answers {
	return &lineAnswers{r: bufio.NewReader(r), echo: echo}
}

// scriptAnswers replays -input and echoes each answer after the prompt.
type scriptAnswers struct {
	items []string
	i     int
}

func (s *scriptAnswers) Next(_ context.Context, echo io.Writer) (string, bool, error) {
	if s.i >= len(s.items) {
		fmt.Fprintln(echo)
		return "", false, nil
	}
	a := s.items[s.i]
	s.i++
	fmt.Fprintln(echo, a)
	return a, true, nil
}

// lineAnswers reads one line per answer. A terminal echoes what is typed; for piped
// input echo repeats it so the transcript reads the same.
type lineAnswers struct {
	r    *bufio.Reader
	echo bool
}

func (l *lineAnswers) Next(ctx context.Context, echo io.Writer) (string, bool, error) {
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	// A read from stdin cannot be interrupted; waiting in a goroutine lets Ctrl-C end
	// the call anyway (the process exits right after).
	go func() {
		line, err := l.r.ReadString('\n')
		ch <- result{line, err}
	}()
	select {
	case <-ctx.Done():
		fmt.Fprintln(echo)
		return "", false, ctx.Err()
	case res := <-ch:
		if res.err != nil && !errors.Is(res.err, io.EOF) {
			return "", false, res.err
		}
		if res.err != nil && res.line == "" {
			fmt.Fprintln(echo)
			return "", false, nil
		}
		line := strings.TrimRight(res.line, "\r\n")
		if l.echo {
			fmt.Fprintln(echo, line)
		}
		return line, true, nil
	}
}
