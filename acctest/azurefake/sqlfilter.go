package azurefake

import (
	"fmt"
	"strings"
)

// sqlExpr is a parsed Service Bus SQL filter: evaluated against a message's application
// properties. The fake parses the subset of the grammar that tests need (comparisons =, <>, !=,
// [NOT] IN, IS [NOT] NULL, EXISTS, AND, OR, NOT, parentheses, 'string' and numeric constants,
// properties bare, [delimited] or scoped user.); a rule using more is refused with a 400 that says
// so, where Service Bus would take it.
type sqlExpr func(props map[string]string) bool // props keyed by lowercase name

type sqlParser struct {
	s   string
	pos int
}

func parseSQL(s string) (sqlExpr, error) {
	p := &sqlParser{s: s}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.skip(); p.pos < len(p.s) {
		return nil, fmt.Errorf("unexpected %q at position %d", p.s[p.pos:], p.pos)
	}
	return e, nil
}

func (p *sqlParser) skip() {
	for p.pos < len(p.s) && strings.ContainsRune(" \t\r\n", rune(p.s[p.pos])) {
		p.pos++
	}
}

// keyword consumes kw (case-insensitively, as a whole word) if it comes next.
func (p *sqlParser) keyword(kw string) bool {
	p.skip()
	end := p.pos + len(kw)
	if end > len(p.s) || !strings.EqualFold(p.s[p.pos:end], kw) {
		return false
	}
	if end < len(p.s) && isWordByte(p.s[end]) && isWordByte(kw[len(kw)-1]) {
		return false
	}
	p.pos = end
	return true
}

func isWordByte(c byte) bool {
	return c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func (p *sqlParser) or() (sqlExpr, error) {
	l, err := p.and()
	for err == nil && p.keyword("OR") {
		var r sqlExpr
		if r, err = p.and(); err == nil {
			a, b := l, r
			l = func(m map[string]string) bool { return a(m) || b(m) }
		}
	}
	return l, err
}

func (p *sqlParser) and() (sqlExpr, error) {
	l, err := p.not()
	for err == nil && p.keyword("AND") {
		var r sqlExpr
		if r, err = p.not(); err == nil {
			a, b := l, r
			l = func(m map[string]string) bool { return a(m) && b(m) }
		}
	}
	return l, err
}

func (p *sqlParser) not() (sqlExpr, error) {
	if p.keyword("NOT") {
		e, err := p.not()
		if err != nil {
			return nil, err
		}
		return func(m map[string]string) bool { return !e(m) }, nil
	}
	return p.predicate()
}

// operand is a constant or a property: its value in a message, and whether it has one.
type operand func(props map[string]string) (string, bool)

func (p *sqlParser) predicate() (sqlExpr, error) {
	if p.keyword("(") {
		e, err := p.or()
		if err == nil && !p.keyword(")") {
			err = fmt.Errorf("missing ) at position %d", p.pos)
		}
		return e, err
	}
	if p.keyword("EXISTS") {
		if !p.keyword("(") {
			return nil, fmt.Errorf("EXISTS needs (property) at position %d", p.pos)
		}
		name, err := p.property()
		if err == nil && !p.keyword(")") {
			err = fmt.Errorf("missing ) at position %d", p.pos)
		}
		key := strings.ToLower(name)
		return func(m map[string]string) bool { _, ok := m[key]; return ok }, err
	}
	l, err := p.operand()
	if err != nil {
		return nil, err
	}
	switch {
	case p.keyword("="), p.keyword("<>"), p.keyword("!="):
		eq := p.s[p.pos-1] == '=' && p.s[p.pos-2] != '!'
		r, err := p.operand()
		if err != nil {
			return nil, err
		}
		return func(m map[string]string) bool {
			a, aok := l(m)
			b, bok := r(m)
			return aok && bok && (a == b) == eq // a comparison with null is unknown: false
		}, nil
	case p.keyword("IS"):
		negate := p.keyword("NOT")
		if !p.keyword("NULL") {
			return nil, fmt.Errorf("IS needs NULL at position %d", p.pos)
		}
		return func(m map[string]string) bool { _, ok := l(m); return ok == negate }, nil
	}
	negate := p.keyword("NOT")
	if !p.keyword("IN") || !p.keyword("(") {
		return nil, fmt.Errorf("the fake evaluates =, <>, !=, [NOT] IN, IS [NOT] NULL and EXISTS; unsupported at position %d", p.pos)
	}
	var list []operand
	for {
		o, err := p.operand()
		if err != nil {
			return nil, err
		}
		list = append(list, o)
		if p.keyword(")") {
			break
		}
		if !p.keyword(",") {
			return nil, fmt.Errorf("IN list: want , or ) at position %d", p.pos)
		}
	}
	return func(m map[string]string) bool {
		a, ok := l(m)
		if !ok {
			return false
		}
		for _, o := range list {
			if b, bok := o(m); bok && a == b {
				return !negate
			}
		}
		return negate
	}, nil
}

func (p *sqlParser) operand() (operand, error) {
	p.skip()
	if p.pos >= len(p.s) {
		return nil, fmt.Errorf("an operand is missing at the end")
	}
	switch c := p.s[p.pos]; {
	case c == '\'':
		var b strings.Builder
		for i := p.pos + 1; i < len(p.s); i++ {
			if p.s[i] != '\'' {
				b.WriteByte(p.s[i])
				continue
			}
			if i+1 < len(p.s) && p.s[i+1] == '\'' {
				b.WriteByte('\'')
				i++
				continue
			}
			p.pos = i + 1
			v := b.String()
			return func(map[string]string) (string, bool) { return v, true }, nil
		}
		return nil, fmt.Errorf("unterminated string at position %d", p.pos)
	case c >= '0' && c <= '9':
		start := p.pos
		for p.pos < len(p.s) && (p.s[p.pos] >= '0' && p.s[p.pos] <= '9' || p.s[p.pos] == '.') {
			p.pos++
		}
		v := p.s[start:p.pos]
		return func(map[string]string) (string, bool) { return v, true }, nil
	}
	name, err := p.property()
	key := strings.ToLower(name)
	return func(m map[string]string) (string, bool) { v, ok := m[key]; return v, ok }, err
}

// property reads a property name: bare, [delimited], or scoped user. (sys. is refused: the fake
// keeps no system properties).
func (p *sqlParser) property() (string, error) {
	p.skip()
	if strings.HasPrefix(strings.ToLower(p.s[p.pos:]), "user.") {
		p.pos += len("user.")
	}
	if p.pos < len(p.s) && p.s[p.pos] == '[' {
		var b strings.Builder
		for i := p.pos + 1; i < len(p.s); i++ {
			if p.s[i] != ']' {
				b.WriteByte(p.s[i])
				continue
			}
			if i+1 < len(p.s) && p.s[i+1] == ']' {
				b.WriteByte(']')
				i++
				continue
			}
			p.pos = i + 1
			return b.String(), nil
		}
		return "", fmt.Errorf("unterminated [ at position %d", p.pos)
	}
	start := p.pos
	for p.pos < len(p.s) && isWordByte(p.s[p.pos]) {
		p.pos++
	}
	name := p.s[start:p.pos]
	switch {
	case name == "":
		return "", fmt.Errorf("a property or constant is missing at position %d", start)
	case strings.HasPrefix(strings.ToLower(name), "sys."):
		return "", fmt.Errorf("system property %s: the fake keeps only application properties", name)
	}
	return name, nil
}
