#!/usr/bin/env python3
"""gen_flow.py - writes a large, realistic .flow file for `make bench`.

usage: gen_flow.py [LINES] [OUT]     (defaults: 100000, standard output)

The flow is deterministic (fixed seed) and compiles with no errors and no
warnings: every variable has an initial value and is read somewhere, every
node is reachable (node i offers "Continue" -> node i+1), and a `goto` or an
`offline` only ever jumps forward, so every cycle goes through a `choice`
with an unguarded option or an `ask` (spec section 10).

It uses every statement: say with interpolation and defaults, pause, set of
every type, if/elif/else over arithmetic, comparisons, contains, and/or/not,
visitor facts and built-ins, asks of text/number/email/phone with and without
retry, choices with prompts, guarded and inline options, lead and deal,
tags, handoffs with online/wait/offline, goto, end; plus hours, fallback and
keyword triggers at the top.
"""
import random
import sys

SEED = 20260105
MAX_JUMP = 5  # forward gotos and offline nodes go at most this far

N_TEXT, N_NUM, N_BOOL, N_EMAIL, N_PHONE = 24, 24, 10, 6, 6

TEXTS = [f"t{i}" for i in range(N_TEXT)]
NUMS = [f"n{i}" for i in range(N_NUM)]
BOOLS = [f"b{i}" for i in range(N_BOOL)]
EMAILS = [f"e{i}" for i in range(N_EMAIL)]
PHONES = [f"p{i}" for i in range(N_PHONE)]
ALL_VARS = TEXTS + NUMS + BOOLS + EMAILS + PHONES
TEXTISH = TEXTS + EMAILS + PHONES

WORDS = ("plan order invoice refund shipping delivery account password "
         "pricing demo trial upgrade support billing team partner discount "
         "warranty contract renewal feature integration export report").split()
TOPICS = ("billing sales support onboarding enterprise returns logistics "
          "partners security compliance").split()
COUNTRIES = "PL DE FR US GB ES IT NL SE CZ".split()
DEVICES = "desktop mobile tablet".split()
WEEKDAYS = "mon tue wed thu fri sat sun".split()


class Gen:
    def __init__(self, rng):
        self.rng = rng
        self.lines = []
        self.read_cursor = 0  # round-robin so that every variable is read

    def emit(self, depth, text):
        self.lines.append("  " * depth + text)

    def pick(self, seq):
        return self.rng.choice(seq)

    def next_read(self):
        v = ALL_VARS[self.read_cursor % len(ALL_VARS)]
        self.read_cursor += 1
        return v

    # ---- expressions ---------------------------------------------------
    def num_atom(self):
        r = self.rng.random()
        if r < 0.55:
            return self.pick(NUMS)
        if r < 0.8:
            return str(self.rng.randint(1, 500))
        if r < 0.9:
            return f"{self.rng.randint(0, 99)}.{self.rng.randint(1, 9)}"
        return self.pick(["agents_online", "now.hour"])

    def num_expr(self, depth=0):
        if depth > 2 or self.rng.random() < 0.3:
            return self.num_atom()
        op = self.pick(["+", "-", "*", "/"])
        left, right = self.num_expr(depth + 1), self.num_expr(depth + 1)
        e = f"{left} {op} {right}"
        if self.rng.random() < 0.3:
            e = f"({e})"
        if self.rng.random() < 0.1:
            e = f"-{self.num_atom()} + {e}"
        return e

    def text_atom(self):
        r = self.rng.random()
        if r < 0.5:
            return self.pick(TEXTISH)
        if r < 0.75:
            return f'"{self.pick(WORDS)}"'
        return self.pick(["visitor.name", "visitor.page", "visitor.country",
                          "visitor.device", "visitor.email", "now.weekday"])

    def text_expr(self):
        parts = [self.text_atom()]
        for _ in range(self.rng.randint(0, 3)):
            parts.append(self.pick(['" "', '" / "', self.text_atom(), self.num_atom()]))
        if not parts[0].startswith('"') and parts[0] not in TEXTISH and len(parts) == 1:
            parts.append('""')
        return " + ".join(parts)

    def comparison(self):
        r = self.rng.random()
        if r < 0.35:
            return f"{self.num_expr(1)} {self.pick(['<', '<=', '>', '>=', '==', '!='])} {self.num_atom()}"
        if r < 0.55:
            return f"{self.pick(TEXTISH)} contains \"{self.pick(WORDS)}\""
        if r < 0.7:
            return f"visitor.country == \"{self.pick(COUNTRIES)}\""
        if r < 0.8:
            return f"visitor.device {self.pick(['==', '!='])} \"{self.pick(DEVICES)}\""
        if r < 0.88:
            return f"now.weekday == \"{self.pick(WEEKDAYS)}\""
        if r < 0.94:
            return f"{self.pick(TEXTS)} {self.pick(['<', '>=', '=='])} \"{self.pick(WORDS)}\""
        return self.pick(BOOLS + ["open", "visitor.returning", "agents_online > 0"])

    def bool_expr(self, depth=0):
        if depth > 1 or self.rng.random() < 0.4:
            c = self.comparison()
            if self.rng.random() < 0.15:
                c = f"not ({c})"
            return c
        op = self.pick(["and", "or"])
        e = f"{self.bool_expr(depth + 1)} {op} {self.bool_expr(depth + 1)}"
        if depth > 0:
            e = f"({e})"
        return e

    def interp(self):
        v = self.next_read()
        if v in TEXTISH and self.rng.random() < 0.5:
            return "{" + v + "|" + self.pick(["there", "friend", "unknown", "n/a"]) + "}"
        return "{" + v + "}"

    def sentence(self, i):
        w1, w2 = self.pick(WORDS), self.pick(WORDS)
        forms = [
            f"Step {i}: about your {w1}, {self.interp()}.",
            f"Thanks {self.interp()}! Let us look at the **{w1}** and the {w2}.",
            f"Your {w1} is noted as {self.interp()}; see [details](https://example.com/{w2}).",
            f"Hello {{visitor.name|there}}, *{w1}* for {{visitor.page}} is {self.interp()}.",
            f"We have {{agents_online}} agents online; your {w1} total is {self.interp()}.",
        ]
        return self.pick(forms)

    # ---- statements ----------------------------------------------------
    def set_stmt(self, d):
        r = self.rng.random()
        if r < 0.45:
            self.emit(d, f"set {self.pick(NUMS)} = {self.num_expr()}")
        elif r < 0.75:
            self.emit(d, f"set {self.pick(TEXTS)} = {self.text_expr()}")
        elif r < 0.9:
            self.emit(d, f"set {self.pick(BOOLS)} = {self.bool_expr()}")
        else:
            self.emit(d, f"set {self.pick(EMAILS + PHONES)} = \"\"")

    def simple_stmt(self, d, i):
        r = self.rng.random()
        if r < 0.4:
            self.emit(d, f'say "{self.sentence(i)}"')
        elif r < 0.75:
            self.set_stmt(d)
        elif r < 0.9:
            self.emit(d, f'tag "{self.pick(TOPICS)}-{i % 97}"')
        else:
            self.emit(d, f"pause {self.rng.randint(1, 3)}s")

    def if_stmt(self, d, i, last):
        self.emit(d, f"if {self.bool_expr()} {{")
        for _ in range(self.rng.randint(1, 3)):
            self.simple_stmt(d + 1, i)
        goto_used = False
        for _ in range(self.rng.randint(0, 3)):
            self.emit(d, f"}} elif {self.bool_expr()} {{")
            for _ in range(self.rng.randint(1, 2)):
                self.simple_stmt(d + 1, i)
            if not goto_used and self.rng.random() < 0.3:
                goto_used = True
                self.emit(d + 1, f"goto {self.node_name(self.forward(i, last))}")
        if self.rng.random() < 0.7:
            self.emit(d, "} else {")
            for _ in range(self.rng.randint(1, 2)):
                self.simple_stmt(d + 1, i)
        self.emit(d, "}")

    def ask_stmt(self, d, i):
        kind = self.pick(["text", "text", "number", "number", "email", "phone"])
        var = self.pick({"text": TEXTS, "number": NUMS, "email": EMAILS, "phone": PHONES}[kind])
        prompts = {
            "text": f"What should we call your {self.pick(WORDS)}, {self.interp()}?",
            "number": f"How many {self.pick(WORDS)}s do you need?",
            "email": "Which email address can we use?",
            "phone": "Your phone number, please (digits, spaces, +)?",
        }
        line = f'ask {var} "{prompts[kind]}"'
        if self.rng.random() < 0.5:
            line += f' retry "That does not look right for a {kind}. Try again?"'
        self.emit(d, line)

    def choice_stmt(self, d, i, last):
        self.emit(d, f'choice "Step {i}: what next, {self.interp()}?" {{')
        self.emit(d + 1, f'"Continue" -> {self.node_name(i + 1)}')
        if i > 0:
            back = self.rng.randint(max(0, i - 40), i)
            self.emit(d + 1, f'"Go back" if {self.bool_expr()} -> {self.node_name(back)}')
        if i + 2 <= last:
            self.emit(d + 1, f'"Skip ahead" if {self.bool_expr()} -> {self.node_name(self.forward(i, last))}')
        self.emit(d + 1, f'"Tell me about {self.pick(WORDS)}" {{')
        for _ in range(self.rng.randint(1, 3)):
            self.simple_stmt(d + 2, i)
        self.emit(d + 1, "}")
        if self.rng.random() < 0.5:
            self.emit(d + 1, f'"More on {self.pick(TOPICS)}" if {self.bool_expr()} {{ say "{self.sentence(i)}"; set {self.pick(NUMS)} = {self.num_expr()} }}')
        self.emit(d, "}")

    def record_stmt(self, d, i):
        kind = self.pick(["lead", "lead", "deal"])
        self.emit(d, f"{kind} {{")
        fields = [("name", self.pick(TEXTS)), ("email", self.pick(EMAILS)),
                  ("phone", self.pick(PHONES)), ("value", self.num_expr(1)),
                  ("note", f'"node {i} " + {self.pick(TEXTS)}')]
        if kind == "deal":
            fields.append(("organization", self.pick(TEXTS)))
            fields.append(("close_date", f'"2026-{self.rng.randint(1, 12):02d}-{self.rng.randint(1, 28):02d}"'))
        fields.append(("source", '"chat"'))
        fields.append(("qualified", self.pick(BOOLS)))
        for k, v in fields:
            self.emit(d + 1, f"{k}: {v}")
        self.emit(d, "}")

    def forward(self, i, last):
        return min(i + self.rng.randint(1, MAX_JUMP), last)

    def node_name(self, i):
        return "start" if i == 0 else f"node_{i}"

    # ---- one node ----------------------------------------------------------
    def node(self, i, last):
        self.emit(0, f"node {self.node_name(i)} {{")
        self.emit(1, f'say "{self.sentence(i)}"')
        for _ in range(self.rng.randint(1, 3)):
            self.simple_stmt(1, i)
        self.if_stmt(1, i, last)
        if self.rng.random() < 0.7:
            self.ask_stmt(1, i)
        self.choice_stmt(1, i, last)
        if self.rng.random() < 0.5:
            self.if_stmt(1, i, last)
        if self.rng.random() < 0.3:
            self.record_stmt(1, i)
        r = self.rng.random()
        if i + 1 < last and r < 0.2:
            self.emit(1, f'handoff "{self.pick(TOPICS)}" {{')
            self.emit(2, f'online "Connecting you with our {self.pick(TOPICS)} team, {self.interp()}..."')
            self.emit(2, f"wait {self.pick(['30s', '1m', '2m', '5m'])}")
            self.emit(2, f"offline -> {self.node_name(self.forward(i, last))}")
            self.emit(1, "}")
        elif i + 1 < last and r < 0.5:
            self.emit(1, f"goto {self.node_name(self.forward(i, last))}")
        elif r < 0.6:
            self.emit(1, "end")
        self.emit(0, "}")
        self.emit(0, "")

    def tail_node(self, i, last):
        self.emit(0, f"node {self.node_name(i)} {{")
        self.emit(1, f'say "{self.sentence(i)}"')
        self.emit(1, f"goto {self.node_name(i + 1)}" if i < last else "end")
        self.emit(0, "}")
        self.emit(0, "")


def header(g, nnodes_hint):
    g.emit(0, '# Generated by tests/bench/gen_flow.py: a large playbook for `make bench`.')
    g.emit(0, 'flow "Benchmark playbook"')
    g.emit(0, "")
    g.emit(0, 'hours "Europe/Warsaw" {')
    g.emit(1, "mon-fri 09:00-17:00")
    g.emit(1, "sat 10:00-14:00")
    g.emit(0, "}")
    g.emit(0, "")
    for v in TEXTS:
        g.emit(0, f'var {v}: text = "{g.pick(WORDS)}"')
    for v in NUMS:
        g.emit(0, f"var {v}: number = {g.rng.randint(0, 50)}")
    for v in BOOLS:
        g.emit(0, f"var {v}: bool = {g.pick(['true', 'false'])}")
    for v in EMAILS:
        g.emit(0, f'var {v}: email = ""')
    for v in PHONES:
        g.emit(0, f'var {v}: phone = ""')
    g.emit(0, "")
    g.emit(0, 'fallback "Sorry, please pick one of the buttons."')
    g.emit(0, "")


def generate(target):
    rng = random.Random(SEED)
    g = Gen(rng)
    header(g, 0)
    # Triggers name nodes that certainly exist (the first few hundred).
    for k in range(40):
        kws = ", ".join(f'"{w}{k}"' for w in rng.sample(WORDS, 3))
        g.emit(0, f"on {kws} -> {g.node_name(rng.randint(1, 300))}")
    g.emit(0, "")
    # Body nodes until the budget is nearly spent, then a short tail of
    # nodes that the last forward jumps may name, then comment padding.
    tail_lines = (MAX_JUMP + 1) * 5
    i = 0
    body_budget = target - tail_lines - 80  # room for one more body node
    while len(g.lines) < body_budget:
        g.node(i, 10**9)
        i += 1
    last = i - 1 + MAX_JUMP
    while i <= last:
        g.tail_node(i, last)
        i += 1
    if len(g.lines) > target:
        sys.exit(f"gen_flow.py: {len(g.lines)} lines, more than {target}")
    while len(g.lines) < target:
        g.emit(0, f"# padding to {target} lines")
    return g.lines, i


def main():
    target = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    if target < 2000:
        sys.exit("gen_flow.py: use at least 2000 lines")
    lines, nodes = generate(target)
    text = "\n".join(lines) + "\n"
    if len(sys.argv) > 2:
        with open(sys.argv[2], "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    print(f"gen_flow.py: {len(lines)} lines, {nodes} nodes, {len(text)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
