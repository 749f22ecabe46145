"""Guard expressions: the language, its limits, and what it refuses."""

from __future__ import annotations

from typing import Any

import pytest

import descartes_nb as dn
from descartes_nb.formats.swarm.guards._parser import MAX_DEPTH, MAX_LENGTH, parse_guard
from descartes_nb.formats.swarm.guards._tree import MAX_INT_BITS, may_overlap

from ..core.test_machine import snapshot

CONTEXT: dict[str, Any] = {
    "approvals": 2,
    "status": "open",
    "tags": ["urgent", "backend"],
    "owner": {"name": "ada", "teams": [{"id": 7}]},
    "ratio": 0.25,
    "flag": True,
    "nothing": None,
    "weird key": 1,
    "_private": 3,
}
DATA: Any = {"amount": 120, "kind": "invoice"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("context.approvals >= 2", True),
        ("context.approvals > 2", False),
        ("context.missing >= 2", False),  # missing reads as null; ordering with null is false
        ("context.missing == null", True),
        ("context.nothing == null", True),
        ("context.status == 'open'", True),
        ('context.status != "open"', False),
        ("context.owner.name == 'ada'", True),
        ("context.owner.teams[0].id == 7", True),
        ("context.owner.teams[5].id == null", True),
        ("context['weird key'] == 1", True),
        ("context._private == 3", True),
        ("context.tags[0] == 'urgent'", True),
        ("'urgent' in context.tags", True),
        ("'frontend' not in context.tags", True),
        ("'name' in context.owner", True),
        ("'pe' in context.status", True),
        ("1 in context.status", False),  # a number is never in a string
        ("'x' in context.approvals", False),
        ("context.status in ['open', 'draft']", True),
        ("data.amount > 100 and data.kind == 'invoice'", True),
        ("data.amount > 100 and not data.kind == 'invoice'", False),
        ("data.amount < 100 or context.flag", True),
        ("not context.flag", False),
        ("data == null", False),
        ("data.amount * 2 - 40 == 200", True),
        ("data.amount / 8 == 15", True),
        ("data.amount // 7 == 17 and data.amount % 7 == 1", True),
        ("2 ** 10 == 1024", True),
        ("-2 ** 2 == -4", True),
        ("2 ** -1 == 0.5", True),
        ("+context.ratio == 0.25", True),
        ("-context.ratio < 0", True),
        ("1 < context.approvals < 3", True),
        ("1 < context.approvals < 2", False),
        ("context.flag == 1", False),  # booleans and numbers never compare equal
        ("context.flag == true", True),
        ("context.status < 5", False),  # ordering across kinds is false, not an error
        ("'a' < 'b'", True),
        ("1.5e1 == 15", True),
        ("'it\\'s' == \"it's\"", True),
        ("'a\\tb' != 'a b'", True),
        ("(context.approvals + 1) * 2 == 6", True),
        ("context", True),  # a non-empty context is truthy
        ("[]", False),
        ("true", True),
        ("false or null", False),
    ],
)
def test_parse_guard_evaluates(text, expected):
    guard = parse_guard(text)
    assert guard(CONTEXT, DATA) is expected
    assert guard.text == text


def test_parse_guard_keeps_the_text_stripped_and_shows_it():
    guard = parse_guard("  context.n >= 1  ")
    assert guard.text == "context.n >= 1"
    assert repr(guard) == "Expression('context.n >= 1')"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("context.__class__", "keys starting with '__' are not allowed", id="dunder"),
        pytest.param("context['__globals__']", "keys starting with '__'", id="dunder-index"),
        pytest.param("__import__('os')", "calls are not allowed", id="import-call"),
        pytest.param("import os", "unknown name 'import'", id="import-statement"),
        pytest.param("open('/etc/passwd')", "calls are not allowed", id="call"),
        pytest.param("context.items()", "calls are not allowed", id="method-call"),
        pytest.param("(context)()", "calls are not allowed", id="call-of-group"),
        pytest.param("'abc'.upper", "attribute and item access is only allowed", id="attribute"),
        pytest.param("(context.a).b", "attribute and item access is only allowed", id="attr2"),
        pytest.param("[1, 2][0]", "attribute and item access is only allowed", id="item"),
        pytest.param("os.system", "unknown name 'os'", id="module"),
        pytest.param("True", "did you mean 'true'?", id="python-true"),
        pytest.param("contxt.a", "did you mean 'context'?", id="typo"),
        pytest.param("2 ** 100000", "exponent 100000 is out of range", id="huge-exponent"),
        pytest.param("9 ** 9 ** 9", "out of range", id="tower"),
        pytest.param("(10 ** 60) ** 64", "too large", id="big-power"),
        pytest.param("2 ** (8 * 8 * 8)", "out of range", id="computed-exponent"),
        pytest.param("1" * 31, "more than 30 digits", id="huge-literal"),
        pytest.param("1e999", "out of range", id="huge-float"),
        pytest.param("1e-999", "out of range", id="tiny-float"),
        pytest.param("1 / 0", "division by zero", id="div-zero"),
        pytest.param("'a' + 1", "needs two numbers", id="string-plus"),
        pytest.param("-'a'", "needs a number", id="neg-string"),
        pytest.param("(-8) ** 0.5", "not a real number", id="complex"),
        pytest.param("(" * 40 + "1" + ")" * 40, f"nesting deeper than {MAX_DEPTH}", id="parens"),
        pytest.param("not " * 40 + "true", "nesting deeper", id="nots"),
        pytest.param("-" * 40 + "1", "nesting deeper", id="minuses"),
        pytest.param("[" * 40 + "]" * 40, "nesting deeper", id="lists"),
        pytest.param("1 or " * 300 + "1", f"at most {MAX_LENGTH} characters", id="too-long"),
        pytest.param("", "cannot be empty", id="empty"),
        pytest.param("context.a +", "ends too early", id="truncated"),
        pytest.param("context.a = 1", "did you mean '=='?", id="assign"),
        pytest.param("context.a && true", "did you mean 'and'?", id="c-and"),
        pytest.param("!context.a", "did you mean 'not'?", id="c-not"),
        pytest.param("lambda: 1", "unexpected character ':'", id="lambda"),
        pytest.param("context.a; 1", "unexpected character ';'", id="semicolon"),
        pytest.param("'unterminated", "unexpected character", id="open-string"),
        pytest.param("'\\x41'", "unknown escape", id="escape"),
        pytest.param("context.and", "'and' is a keyword", id="keyword-key"),
        pytest.param("context[1.5]", "expected a 'key' or a list index", id="float-index"),
        pytest.param("context.a b", "unexpected 'b'", id="two-values"),
        pytest.param("(1", "expected ')'", id="unclosed"),
    ],
)
def test_parse_guard_refuses_at_load_time(text, message):
    with pytest.raises(dn.DefinitionError, match="at column") as info:
        parse_guard(text)
    assert message in str(info.value)
    assert info.value.key == "guard"


def test_parse_guard_refusal_gives_the_column():
    with pytest.raises(dn.DefinitionError, match=r"\(at column 22\)"):
        parse_guard("context.a >= context.__dict__")


def test_parse_guard_refuses_non_text():
    with pytest.raises(dn.DefinitionError, match="must be a str, got 3"):
        parse_guard(3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "context", "error"),
    [
        ("context.a / context.b > 1", {"a": 1, "b": 0}, ZeroDivisionError),
        ("context.a + 1 > 1", {"a": "x"}, TypeError),
        ("2 ** context.n > 1", {"n": 100}, ValueError),
        ("context.n ** 64 > 1", {"n": 2**100}, OverflowError),
        ("context.n * context.n > 1", {"n": 2**3000}, OverflowError),
        ("context.n + context.n > 1", {"n": 2**MAX_INT_BITS - 1}, OverflowError),
    ],
)
def test_guard_fails_at_run_time_on_bad_values(text, context, error):
    guard = parse_guard(text)
    with pytest.raises(error):
        guard(context, None)


async def test_guard_failure_in_a_workflow_becomes_handler_error(make_workflow):
    d = dn.WorkflowDefinition(
        "g",
        states=(dn.StateDef("a"), dn.StateDef("b", terminal=True)),
        initial_state="a",
        transitions=(
            dn.TransitionDef(
                "a", "go", "b", guard=parse_guard("1 / data.n > 0"), guard_label="1 / data.n > 0"
            ),
        ),
    )
    sm = make_workflow(d)
    with pytest.raises(dn.HandlerError, match=r"guard '1 / data.n > 0' raised"):
        await sm.process_event("go", {"n": 0})
    assert sm.state == "a"
    entry = await sm.process_event("go", {"n": 2})
    assert entry.to_state == "b"


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("context.n >= 2", "context.n < 2", False),
        ("context.n >= 2", "context.n > 5", True),
        ("context.n > 1 and context.n < 3", "context.n >= 3", False),
        ("context.n > 1 and context.n < 2", "context.n == 1.5", True),
        ("context.n == 1", "context.n != 1", False),
        ("context.n == 1", "1 == context.n", True),
        ("2 <= context.n", "context.n < 2", False),
        ("data.kind == 'a'", "data.kind in ['b', 'c']", False),
        ("data.kind == 'a'", "data.kind not in ['b', 'c']", True),
        ("data.kind > 'a'", "data.kind < 'b'", True),  # 'a\0' is between
        ("data.kind > 'a'", "data.kind <= 'a'", False),
        ("context.n >= 2", "data.n < 2", True),  # different paths are independent
        ("context.n >= 2 and data.ok == true", "data.ok == false", False),
        ("true", "context.n == 1", True),
        ("context.flag == true", "context.flag == 1", False),
        ("context.a == 1", "context.a.b == 2", None),  # nested paths: undecided
        ("context.n > 1 or context.n < 0", "context.n == 0", None),  # 'or': undecided
        ("context.n + 1 > 2", "context.n < 0", None),  # arithmetic: undecided
        ("context.flag", "not context.flag", None),
    ],
)
def test_may_overlap_decides_simple_guards(a, b, expected):
    assert may_overlap(parse_guard(a).tree, parse_guard(b).tree) is expected
    assert may_overlap(parse_guard(b).tree, parse_guard(a).tree) is expected


# -- nesting and size limits (issue 10) ---------------------------------------------------

DEEP_SUM = "+".join(["1"] * 495) + " > 0"  # the guard of the issue: under 1,000 characters
POWER_TOWER = "**".join(["1"] * 300) + " > 0"


def guarded(text: str) -> dn.WorkflowDefinition:
    return dn.WorkflowDefinition(
        "g",
        states=(dn.StateDef("a"), dn.StateDef("b", terminal=True)),
        initial_state="a",
        transitions=(dn.TransitionDef("a", "go", "b", guard=parse_guard(text), guard_label=text),),
    )


def toml_with_guard(text: str) -> str:
    transition = f'{{ open = {{ target = "Open", guard = "{text}" }} }}'
    return (
        '[workflow.door]\ninitial_state = "Closed"\n'
        f"[workflow.door.states.Closed]\non = {transition}\n"
        "[workflow.door.states.Open]\nterminal = true\n"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(DEEP_SUM, "operations nest 496 levels deep", id="sum-chain"),
        pytest.param(POWER_TOWER, f"nesting deeper than {MAX_DEPTH} levels", id="power-tower"),
        pytest.param(
            " - ".join(["context.a"] * 40) + " < 0", "operations nest 41 levels", id="chain-40"
        ),
    ],
)
def test_parse_guard_refuses_deep_operations_before_recursing(text, message):
    assert len(text) < 1000
    with pytest.raises(dn.DefinitionError, match="at column") as info:
        parse_guard(text)
    assert message in str(info.value)
    assert str(info.value).startswith(f"guard {text[:77]!r}"[:-1])  # the guard is named
    assert info.value.key == "guard"


def test_parse_guard_accepts_long_flat_and_chains():
    text = " and ".join([f"context.k{i} == {i}" for i in range(40)])
    guard = parse_guard(text)
    assert guard({f"k{i}": i for i in range(40)}, None) is True
    assert guard({"k0": 0}, None) is False
    assert parse_guard(" or ".join(["data.ok"] * 60))({}, {"ok": True}) is True


def test_load_definitions_reports_a_deep_guard_with_its_line():
    with pytest.raises(dn.DefinitionError, match="operations nest 496 levels deep") as info:
        dn.load_definitions(toml_with_guard(DEEP_SUM))
    assert info.value.problems[0].line == 4


class Spy(int):
    """An int that fails the test if an arithmetic operation is computed on it."""

    def _computed(self, *args: object) -> int:
        raise AssertionError("computed before the size was checked")

    __add__ = __sub__ = __mul__ = __floordiv__ = __mod__ = __truediv__ = _computed
    __pow__ = _computed  # type: ignore[assignment]  # int's __pow__ is overloaded


@pytest.mark.parametrize("op", ["+", "-", "*", "//", "%", "/", "**"])
def test_guard_arithmetic_refuses_long_operands_before_computing(op):
    guard = parse_guard(f"data.x {op} data.y > 0")
    with pytest.raises(OverflowError, match=f"more than the {MAX_INT_BITS} allowed"):
        guard({}, {"x": Spy(2 ** (MAX_INT_BITS + 1)), "y": Spy(3)})


def test_guard_product_refused_before_computing_when_it_could_be_too_long():
    guard = parse_guard("data.x * data.y > 0")
    half = Spy(2 ** (MAX_INT_BITS // 2))  # MAX_INT_BITS // 2 + 1 bits each
    with pytest.raises(OverflowError, match="product of a 2049-bit and a 2049-bit"):
        guard({}, {"x": half, "y": half})
    assert guard({}, {"x": 2 ** (MAX_INT_BITS // 2 - 1), "y": 3}) is True


async def test_guard_on_huge_event_ints_fails_fast_and_changes_nothing(make_workflow):
    sm = make_workflow(guarded("data.x * data.y * data.z > 0"))
    before = snapshot(sm, with_allowed=False)  # the guard needs data
    big = 2**2000 + 1  # 603 digits: a JSON value, but three of them multiply too far
    with pytest.raises(dn.HandlerError, match=r"guard 'data.x \* data.y \* data.z > 0'") as info:
        await sm.process_event("go", {"x": big, "y": big, "z": big})
    assert isinstance(info.value.__cause__, OverflowError)
    with pytest.raises(dn.SerializationError, match=r"data of event 'go'.* more than 640 digits"):
        await sm.process_event("go", {"x": 2**11_000_000, "y": 3})  # refused before any guard
    assert snapshot(sm, with_allowed=False) == before
