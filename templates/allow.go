package templates

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"text/template/parse"
	"time"
	"unicode/utf8"
)

// The rules of message templates, built-in or written by a clinic. A template
// may print and test fields of Data, literals and variables; branch with if,
// else and with; compare with eq, ne, lt, le, gt, ge; combine with and, or,
// not; measure text with len; and format with the functions of messageFuncs.
// Nothing else: no range, define, template or block, no method calls (such as
// .Appointment.Start.Format) and no other function (print, printf, slice,
// index, call, html, js, urlquery).
//
// With no loops and no template calls every action runs at most once, and no
// allowed function makes a value longer than maxValue, so the memory and time
// of a render are bounded by the template's size whatever it says; the
// output is capped as well (maxOutput), and so is the time (maxRenderTime).
//
// checkTree enforces the rules by walking the parse tree. It knows the type
// of dot and of every variable, so it reaches only fields of Data and checks
// the number and types of every function's arguments. A template that
// passes fails on one patient's data and not on another's only by reaching a
// size or time limit, or by comparing the value of an and/or over values of
// different types; either fails that message alone, with its reason.

// maxCalls bounds the function calls in one part of a template.
const maxCalls = 256

// allowedBuiltins are the predefined functions of text/template that
// message templates may call.
var allowedBuiltins = []string{"and", "or", "not", "eq", "ne", "lt", "le", "gt", "ge", "len"}

// allowedFuncNames lists every function a message template may call.
var allowedFuncNames = strings.Join(slices.Sorted(slices.Values(append(slices.Collect(maps.Keys(messageFuncs)), allowedBuiltins...))), ", ")

var (
	dataType   = reflect.TypeFor[Data]()
	stringType = reflect.TypeFor[string]()
	intType    = reflect.TypeFor[int]()
	boolType   = reflect.TypeFor[bool]()
	timeType   = reflect.TypeFor[time.Time]()
)

// checkTree reports the first thing in t that message templates do not allow.
func checkTree(t *parse.Tree) error {
	c := &checker{tree: t, vars: []variable{{name: "$", typ: dataType}}}
	return c.list(t.Root, dataType)
}

// checker walks one parse tree. A nil reflect.Type is a value whose type
// cannot be told before execution (the result of and/or over values of
// different types); fields of it are refused.
type checker struct {
	tree  *parse.Tree
	vars  []variable // in scope, innermost last
	calls int
}

type variable struct {
	name string
	typ  reflect.Type
}

func (c *checker) errorf(n parse.Node, format string, args ...any) error {
	loc, _ := c.tree.ErrorContext(n)
	return fmt.Errorf("%s: "+format, append([]any{loc}, args...)...)
}

func (c *checker) list(l *parse.ListNode, dot reflect.Type) error {
	if l == nil {
		return nil
	}
	for _, n := range l.Nodes {
		if err := c.node(n, dot); err != nil {
			return err
		}
	}
	return nil
}

func (c *checker) node(n parse.Node, dot reflect.Type) error {
	switch n := n.(type) {
	case *parse.TextNode, *parse.CommentNode:
		return nil
	case *parse.ActionNode:
		_, err := c.pipe(n.Pipe, dot)
		return err
	case *parse.IfNode:
		return c.branch(&n.BranchNode, dot, false)
	case *parse.WithNode:
		return c.branch(&n.BranchNode, dot, true)
	case *parse.RangeNode:
		return c.errorf(n, "range is %w: templates reach no lists", ErrNotAllowed)
	case *parse.TemplateNode:
		return c.errorf(n, "template is %w", ErrNotAllowed)
	default: // break, continue
		return c.errorf(n, "%s is %w", brief(n), ErrNotAllowed)
	}
}

// branch checks an if or with; with sets dot to its pipeline's value.
// Variables declared inside end with it, as in text/template.
func (c *checker) branch(b *parse.BranchNode, dot reflect.Type, with bool) error {
	defer c.popVars(len(c.vars))
	t, err := c.pipe(b.Pipe, dot)
	if err != nil {
		return err
	}
	inner := dot
	if with {
		inner = t
	}
	if err := c.list(b.List, inner); err != nil {
		return err
	}
	return c.list(b.ElseList, dot)
}

// pipe checks a pipeline and returns the type of its value.
func (c *checker) pipe(p *parse.PipeNode, dot reflect.Type) (reflect.Type, error) {
	var t reflect.Type
	for i, cmd := range p.Cmds {
		var err error
		if t, err = c.command(cmd, dot, t, i > 0); err != nil {
			return nil, err
		}
	}
	for _, v := range p.Decl {
		c.declare(v.Ident[0], t, p.IsAssign)
	}
	return t, nil
}

// command checks one command of a pipeline; a command after the first
// receives the previous one's value (piped) as its last argument.
func (c *checker) command(cmd *parse.CommandNode, dot, piped reflect.Type, isPiped bool) (reflect.Type, error) {
	args := make([]reflect.Type, 0, len(cmd.Args))
	for _, a := range cmd.Args[1:] {
		t, err := c.operand(a, dot)
		if err != nil {
			return nil, err
		}
		args = append(args, t)
	}
	if isPiped {
		args = append(args, piped)
	}
	if id, ok := cmd.Args[0].(*parse.IdentifierNode); ok {
		return c.call(id, cmd.Args[1:], args)
	}
	t, err := c.operand(cmd.Args[0], dot)
	if err != nil {
		return nil, err
	}
	if len(args) > 0 {
		return nil, c.errorf(cmd, "%s is not a function and takes no arguments", brief(cmd.Args[0]))
	}
	return t, nil
}

// operand checks a value: dot, a field, a variable, a literal, a
// parenthesized pipeline, or a function called without arguments.
func (c *checker) operand(n parse.Node, dot reflect.Type) (reflect.Type, error) {
	switch n := n.(type) {
	case *parse.DotNode:
		return dot, nil
	case *parse.FieldNode:
		return c.fields(n, dot, ".", n.Ident)
	case *parse.VariableNode:
		return c.fields(n, c.lookup(n.Ident[0]), n.Ident[0], n.Ident[1:])
	case *parse.ChainNode:
		t, err := c.operand(n.Node, dot)
		if err != nil {
			return nil, err
		}
		return c.fields(n, t, brief(n.Node), n.Field)
	case *parse.PipeNode:
		return c.pipe(n, dot)
	case *parse.IdentifierNode:
		return c.call(n, nil, nil)
	case *parse.StringNode:
		return stringType, nil
	case *parse.BoolNode:
		return boolType, nil
	case *parse.NumberNode:
		if !n.IsInt {
			return nil, c.errorf(n, "number %s is %w: use whole numbers", brief(n), ErrNotAllowed)
		}
		return intType, nil
	default: // nil
		return nil, c.errorf(n, "%s is %w", brief(n), ErrNotAllowed)
	}
}

// fields follows names from a value of type t (described by base, such as
// ".Patient" or "$p"): each must be an exported field, never a method.
func (c *checker) fields(n parse.Node, t reflect.Type, base string, names []string) (reflect.Type, error) {
	path := base
	for _, name := range names {
		if t == nil {
			return nil, c.errorf(n, "cannot tell what %s is, so its field %s cannot be checked", describe(path), name)
		}
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if _, ok := reflect.PointerTo(t).MethodByName(name); ok {
			return nil, c.errorf(n, "%s.%s is a method; calling methods is %w", strings.TrimSuffix(path, "."), name, ErrNotAllowed)
		}
		if t.Kind() != reflect.Struct {
			return nil, c.errorf(n, "%s is %s and has no field %s", describe(path), typeName(t), name)
		}
		f, ok := t.FieldByName(name)
		if !ok || !f.IsExported() {
			return nil, c.errorf(n, "%s has no field %s; its fields are %s", describe(path), name, strings.Join(fieldNames(t), ", "))
		}
		if path == "." {
			path += name
		} else {
			path += "." + name
		}
		if f.Type.Kind() == reflect.Slice {
			return nil, c.errorf(n, "%s is a list, and lists are %w in message templates; print .ChoiceList, the options written out", path, ErrNotAllowed)
		}
		t = f.Type
	}
	return t, nil
}

// call checks a call of the function id with arguments of the given types
// (argNodes are the arguments written in the command, without a piped one).
func (c *checker) call(id *parse.IdentifierNode, argNodes []parse.Node, args []reflect.Type) (reflect.Type, error) {
	c.calls++
	if c.calls > maxCalls {
		return nil, c.errorf(id, "%w: more than %d function calls", ErrTooLarge, maxCalls)
	}
	name := id.Ident
	switch name {
	case "not":
		return boolType, c.arity(id, args, 1, false)
	case "and", "or":
		if err := c.arity(id, args, 1, true); err != nil {
			return nil, err
		}
		return common(args), nil
	case "eq", "ne", "lt", "le", "gt", "ge":
		// eq x a b c: x equals one of a, b, c.
		if err := c.arity(id, args, 2, name == "eq"); err != nil {
			return nil, err
		}
		return boolType, c.comparable(id, args, name != "eq" && name != "ne")
	case "len":
		if err := c.arity(id, args, 1, false); err != nil {
			return nil, err
		}
		if args[0] != nil && args[0].Kind() != reflect.String {
			return nil, c.errorf(id, "len takes text, not %s", typeName(args[0]))
		}
		return intType, nil
	}
	fn, ok := messageFuncs[name]
	if !ok {
		return nil, c.errorf(id, "function %q is %w; use %s", name, ErrNotAllowed, allowedFuncNames)
	}
	ft := reflect.TypeOf(fn)
	if err := c.arity(id, args, ft.NumIn(), false); err != nil {
		return nil, err
	}
	for i, a := range args {
		if a != nil && !a.AssignableTo(ft.In(i)) {
			return nil, c.errorf(id, "argument %d of %s must be %s, not %s", i+1, name, typeName(ft.In(i)), typeName(a))
		}
	}
	if name == "date" {
		s, ok := argNodes[0].(*parse.StringNode)
		if !ok {
			return nil, c.errorf(id, `the layout of date must be written in quotes, e.g. date "01/02/2006"`)
		}
		if len(s.Text) > maxLayout {
			return nil, c.errorf(id, "date layout %w: more than %d bytes", ErrTooLarge, maxLayout)
		}
	}
	return ft.Out(0), nil
}

// arity checks the number of arguments: exactly least, or at least least
// when variadic.
func (c *checker) arity(id *parse.IdentifierNode, args []reflect.Type, least int, variadic bool) error {
	switch n := len(args); {
	case !variadic && n != least:
		return c.errorf(id, "%s takes %d argument%s, not %d", id.Ident, least, plural1(least), n)
	case n < least:
		return c.errorf(id, "%s takes at least %d arguments, not %d", id.Ident, least, n)
	}
	return nil
}

// comparable checks that args can be compared with each other: all text,
// all numbers or (unless ordered) all true/false.
func (c *checker) comparable(id *parse.IdentifierNode, args []reflect.Type, ordered bool) error {
	var first string
	for _, a := range args {
		if a == nil {
			continue
		}
		k := class(a)
		if k == "" || ordered && k == "true/false" {
			return c.errorf(id, "%s cannot compare %s", id.Ident, typeName(a))
		}
		if first == "" {
			first = k
		} else if k != first {
			return c.errorf(id, "%s cannot compare %s with %s", id.Ident, first, k)
		}
	}
	return nil
}

func (c *checker) declare(name string, t reflect.Type, assign bool) {
	if !assign {
		c.vars = append(c.vars, variable{name: name, typ: t})
		return
	}
	for i := len(c.vars) - 1; i >= 0; i-- {
		if c.vars[i].name == name {
			if c.vars[i].typ != t {
				c.vars[i].typ = nil // either type from here on
			}
			return
		}
	}
}

func (c *checker) lookup(name string) reflect.Type {
	for i := len(c.vars) - 1; i >= 0; i-- {
		if c.vars[i].name == name {
			return c.vars[i].typ
		}
	}
	return nil // the parser refuses undeclared variables
}

func (c *checker) popVars(n int) { c.vars = c.vars[:n] }

// common is the type all args share, or nil.
func common(args []reflect.Type) reflect.Type {
	for _, a := range args[1:] {
		if a != args[0] {
			return nil
		}
	}
	return args[0]
}

// class names what kind of value t is for comparisons; "" is not comparable.
func class(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "text"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a number"
	case reflect.Bool:
		return "true/false"
	}
	return ""
}

// typeName names t for a clinic's staff rather than for Go programmers.
func typeName(t reflect.Type) string {
	switch {
	case t == timeType:
		return "a time"
	case class(t) != "":
		return class(t)
	case t.Kind() == reflect.Struct:
		return "a group of fields"
	}
	return t.String()
}

// fieldNames lists the exported fields of the struct type t.
func fieldNames(t reflect.Type) []string {
	var names []string
	for f := range t.Fields() {
		if f.IsExported() {
			names = append(names, f.Name)
		}
	}
	return names
}

func plural1(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// describe names the value at path for an error message.
func describe(path string) string {
	if path == "." {
		return "dot (.)"
	}
	return path
}

// brief is a node's source, shortened for an error message.
func brief(n parse.Node) string {
	const most = 40
	s := n.String()
	if len(s) <= most {
		return s
	}
	cut := most
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
