"""A small, safe filter language over Dolma attributes and document fields (no `eval`).

Grammar (lowest precedence first)::

    expr    := and ('or' and)*
    and     := not ('and' not)*
    not     := 'not' not | compare
    compare := value (('=='|'!='|'<'|'<='|'>'|'>=') value | 'in' '[' literal (',' literal)* ']')?
    value   := NUMBER | STRING | 'true' | 'false' | '-' NUMBER | NAME | '(' expr ')'
             | ('default' '(' NAME ',' literal ')') | (('count'|'exists'|'first') '(' NAME ')')

Names: `tagger.type` (any joined run's key ending in `__tagger__type`), `run.tagger.type`, a
full key (`run__tagger__type`, or a Dolma key with no prefix such as `bff_duplicate_spans`),
`metadata.a.b`, `id`, `source`. Numbers compare by value: `1 == 1.0`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from dolmakit.errors import DolmakitError

MAX_DEPTH = 64
KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false"})
FUNCTIONS = frozenset({"default", "count", "exists", "first"})
COMPARISONS = ("==", "!=", "<=", ">=", "<", ">")


class FilterSyntaxError(DolmakitError):
    """Report a malformed filter expression with the 0-based character position of the fault."""

    def __init__(self, expression: str, position: int, problem: str) -> None:
        self.expression = expression
        self.position = position
        self.problem = problem
        super().__init__(f"syntax error at column {position + 1}: {problem}")

    def __reduce__(self) -> tuple[type[FilterSyntaxError], tuple[str, int, str]]:
        return (FilterSyntaxError, (self.expression, self.position, self.problem))


# ---------------------------------------------------------------- tokens

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,|-)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class Token:
    """A lexical token: kind (number, name, string, op, end), its text and position."""

    kind: str
    text: str
    pos: int


def tokenize(text: str) -> list[Token]:
    """Split an expression into tokens; FilterSyntaxError at the first unknown character."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            char = text[pos]
            if char in "\"'":
                raise FilterSyntaxError(text, pos, "unterminated string")
            raise FilterSyntaxError(text, pos, f"unexpected character {char!r}")
        kind = match.lastgroup or ""
        end = match.end()
        if kind == "number" and end < len(text) and (text[end].isalnum() or text[end] == "_"):
            raise FilterSyntaxError(text, end, f"unexpected character {text[end]!r} after number")
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = end
    tokens.append(Token("end", "", len(text)))
    return tokens


# ---------------------------------------------------------------- syntax tree

Literal = int | float | str | bool


@dataclass(frozen=True)
class Lit:
    """A literal number, string or boolean."""

    value: Literal


@dataclass(frozen=True)
class Name:
    """A reference to an attribute, a metadata field, `id` or `source`."""

    path: str
    pos: int


@dataclass(frozen=True)
class Call:
    """`default(name, literal)`, `count(name)`, `exists(name)` or `first(name)`."""

    fn: str
    name: Name
    fallback: Literal | None = None


@dataclass(frozen=True)
class Not:
    """Logical negation."""

    item: Node


@dataclass(frozen=True)
class BoolOp:
    """`and` or `or` over two or more items."""

    op: str
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Compare:
    """A comparison of two values."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class In:
    """Membership of a value in a list of literals."""

    item: Node
    options: tuple[Literal, ...]


Node = Lit | Name | Call | Not | BoolOp | Compare | In


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def fail(self, problem: str, tok: Token | None = None) -> FilterSyntaxError:
        tok = tok or self.tok
        got = "end of expression" if tok.kind == "end" else repr(tok.text)
        return FilterSyntaxError(self.text, tok.pos, f"{problem}, got {got}")

    def take(self, text: str) -> Token:
        tok = self.tok
        if tok.text != text or tok.kind not in ("op", "name"):
            raise self.fail(f"expected {text!r}")
        self.i += 1
        return tok

    def is_word(self, word: str) -> bool:
        return self.tok.kind == "name" and self.tok.text == word

    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise self.fail("expected an expression")
        node = self.expr()
        if self.tok.kind != "end":
            raise self.fail("expected 'and', 'or' or the end")
        return node

    def expr(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FilterSyntaxError(self.text, self.tok.pos, f"nested deeper than {MAX_DEPTH}")
        items = [self.conj()]
        while self.is_word("or"):
            self.i += 1
            items.append(self.conj())
        self.depth -= 1
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def conj(self) -> Node:
        items = [self.neg()]
        while self.is_word("and"):
            self.i += 1
            items.append(self.neg())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def neg(self) -> Node:
        if self.is_word("not"):
            self.i += 1
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise FilterSyntaxError(self.text, self.tok.pos, f"nested deeper than {MAX_DEPTH}")
            item = self.neg()
            self.depth -= 1
            return Not(item)
        return self.compare()

    def compare(self) -> Node:
        left = self.value()
        tok = self.tok
        if tok.kind == "op" and tok.text in COMPARISONS:
            self.i += 1
            return Compare(tok.text, left, self.value())
        if self.is_word("in"):
            self.i += 1
            self.take("[")
            options = [self.literal()]
            while self.tok.text == "," and self.tok.kind == "op":
                self.i += 1
                options.append(self.literal())
            self.take("]")
            return In(left, tuple(options))
        return left

    def literal(self) -> Literal:
        tok = self.tok
        node = self.value()
        if not isinstance(node, Lit):
            raise self.fail("expected a literal (number, string, true or false)", tok)
        return node.value

    def value(self) -> Node:
        tok = self.tok
        if tok.kind == "number":
            self.i += 1
            return Lit(_number(tok.text))
        if tok.kind == "op" and tok.text == "-":
            self.i += 1
            if self.tok.kind != "number":
                raise self.fail("expected a number after '-'")
            number = _number(self.tok.text)
            self.i += 1
            return Lit(-number)
        if tok.kind == "string":
            self.i += 1
            return Lit(_unquote(self.text, tok))
        if tok.kind == "op" and tok.text == "(":
            self.i += 1
            node = self.expr()
            self.take(")")
            return node
        if tok.kind == "name":
            if tok.text in ("true", "false"):
                self.i += 1
                return Lit(tok.text == "true")
            if tok.text in KEYWORDS:
                raise self.fail("expected a value")
            self.i += 1
            if tok.text in FUNCTIONS and self.tok.text == "(" and self.tok.kind == "op":
                return self.call(tok.text)
            return Name(tok.text, tok.pos)
        raise self.fail("expected a value")

    def call(self, fn: str) -> Node:
        self.take("(")
        name = self.value()
        if not isinstance(name, Name):
            raise self.fail(f"{fn}() takes a name as its first argument", self.tokens[self.i - 1])
        fallback: Literal | None = None
        if fn == "default":
            self.take(",")
            fallback = self.literal()
        self.take(")")
        return Call(fn, name, fallback)


def _number(text: str) -> int | float:
    if text.isdigit():
        return int(text)
    return float(text)


_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}


def _unquote(text: str, tok: Token) -> str:
    body = tok.text[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            nxt = body[i + 1]
            if nxt not in _ESCAPES:
                raise FilterSyntaxError(text, tok.pos + 1 + i, f"unknown escape '\\{nxt}'")
            out.append(_ESCAPES[nxt])
            i += 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


def parse(text: str) -> Node:
    """Parse a filter expression; FilterSyntaxError (with `position`) when it is malformed."""
    return _Parser(text).parse()


# ---------------------------------------------------------------- canonical form

_PRECEDENCE = {"or": 1, "and": 2, "not": 3, "cmp": 4, "atom": 5}


def _level(node: Node) -> int:
    if isinstance(node, BoolOp):
        return _PRECEDENCE[node.op]
    if isinstance(node, Not):
        return _PRECEDENCE["not"]
    if isinstance(node, Compare | In):
        return _PRECEDENCE["cmp"]
    return _PRECEDENCE["atom"]


def format_literal(value: Literal) -> str:
    """Write a literal as the language reads it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return f"{value:.1f}"
    return repr(value)


def unparse(node: Node) -> str:
    """Return the canonical text of an expression (minimal parentheses, normalised spacing)."""
    if isinstance(node, Lit):
        return format_literal(node.value)
    if isinstance(node, Name):
        return node.path
    if isinstance(node, Call):
        if node.fn == "default":
            assert node.fallback is not None
            return f"default({node.name.path}, {format_literal(node.fallback)})"
        return f"{node.fn}({node.name.path})"
    if isinstance(node, Not):
        return f"not {_wrap(node.item, _PRECEDENCE['not'])}"
    if isinstance(node, BoolOp):
        level = _PRECEDENCE[node.op]
        return f" {node.op} ".join(_wrap(item, level + 1) for item in node.items)
    if isinstance(node, Compare):
        level = _PRECEDENCE["cmp"] + 1
        return f"{_wrap(node.left, level)} {node.op} {_wrap(node.right, level)}"
    options = ", ".join(format_literal(v) for v in node.options)
    return f"{_wrap(node.item, _PRECEDENCE['cmp'] + 1)} in [{options}]"


def _wrap(node: Node, level: int) -> str:
    text = unparse(node)
    return f"({text})" if _level(node) < level else text


def clauses(node: Node) -> list[Node]:
    """Return the top-level `and` clauses of an expression, in order."""
    if isinstance(node, BoolOp) and node.op == "and":
        return list(node.items)
    return [node]


def names(node: Node) -> list[Name]:
    """Return every name an expression refers to, in order of appearance."""
    if isinstance(node, Name):
        return [node]
    if isinstance(node, Call):
        return [node.name]
    if isinstance(node, Not):
        return names(node.item)
    if isinstance(node, BoolOp):
        return [n for item in node.items for n in names(item)]
    if isinstance(node, Compare):
        return names(node.left) + names(node.right)
    if isinstance(node, In):
        return names(node.item)
    return []
