"""Build examples/math/seeds.jsonl: easy grade-school math problems with exact answers.

Run from the repository root:

    python examples/math/build_seeds.py

The output is fully deterministic (one seeded random.Random, stdlib only), so
re-running the script reproduces seeds.jsonl byte for byte.

Every answer is computed with fractions.Fraction, never written by hand, and
formatted canonically: integers "42", negatives "-7", fractions in lowest terms
"3/4", short exact decimals "12.5". A fixed, topic-stratified set of 60 problems
is marked "split": "eval" and must never be trained on; 140 more held-out problems
(math-0341 on, from a second seeded generator, new questions only) take the eval
split to 200, so one item is 0.5 points. The first 340 lines never change, so
prompt ids and snapshots built from them stay valid.
"""

from __future__ import annotations

import json
import random
from fractions import Fraction
from pathlib import Path

SEED = 20261123
OUT_PATH = Path(__file__).with_name("seeds.jsonl")

# How many problems per topic (40% / 20% / 20% / 20% of 340).
TOPIC_COUNTS = {
    "arithmetic": 136,
    "fractions": 68,
    "percentages": 68,
    "linear_equations": 68,
}
EVAL_TOTAL = 60
EXTRA_EVAL = 140  # appended held-out problems: 200 in the eval split

NAMES = [
    "Maya", "Leo", "Ava", "Sam", "Priya", "Omar", "Lily", "Ben",
    "Zoe", "Ravi", "Emma", "Noah", "Sofia", "Jack", "Mia", "Eli",
    "Nora", "Kenji", "Amara", "Lucas", "Hana", "Diego", "Grace", "Tom",
]

# Small denominators keep fraction problems easy for a tiny student model.
DENOMINATORS = [2, 3, 4, 5, 6, 8, 10, 12]
# Denominator families whose least common multiple stays small (<= 12).
FRIENDLY_DENOMINATORS = [[2, 4, 8], [2, 3, 6], [3, 6, 12], [2, 4, 12], [2, 5, 10], [3, 4, 12]]
PERCENTS = [5, 10, 15, 20, 25, 30, 40, 50, 60, 75, 80, 90]


# ---------------------------------------------------------------------------
# Formatting helpers
# ---------------------------------------------------------------------------

def fmt_fraction(value: Fraction) -> str:
    """Integer if whole, otherwise "n/d" in lowest terms (Fraction already reduces)."""
    if value.denominator == 1:
        return str(value.numerator)
    return f"{value.numerator}/{value.denominator}"


def fmt_decimal(value: Fraction) -> str:
    """Exact short decimal ("12.5", "3.25"); refuses values that are not exact in 2 places."""
    scaled = value * 100
    if scaled.denominator != 1:
        raise ValueError(f"{value} is not an exact short decimal")
    cents = scaled.numerator
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    if frac == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{frac:02d}".rstrip("0")


def fmt_int(value: Fraction | int) -> str:
    value = Fraction(value)
    if value.denominator != 1:
        raise ValueError(f"{value} is not an integer")
    return str(value.numerator)


def linear_side(coef: int, var: str, const: int) -> str:
    """Render coef*var + const, e.g. (3, "x", -5) -> "3x - 5", (1, "x", 4) -> "x + 4"."""
    term = var if coef == 1 else f"{coef}{var}"
    if const > 0:
        return f"{term} + {const}"
    if const < 0:
        return f"{term} - {-const}"
    return term


# ---------------------------------------------------------------------------
# Random pickers
# ---------------------------------------------------------------------------

def two_names(rng: random.Random) -> tuple[str, str]:
    first, second = rng.sample(NAMES, 2)
    return first, second


def proper_fraction(rng: random.Random, denominators=DENOMINATORS) -> Fraction:
    """A fraction strictly between 0 and 1 with a small denominator, e.g. 3/4."""
    while True:
        d = rng.choice(denominators)
        n = rng.randint(1, d - 1)
        f = Fraction(n, d)
        if f.denominator == d:  # already in lowest terms as displayed
            return f


def fraction_pair(rng: random.Random) -> tuple[Fraction, Fraction]:
    """Two proper fractions with "friendly" denominators (one family, common denominator <= 12)."""
    family = rng.choice(FRIENDLY_DENOMINATORS)
    return proper_fraction(rng, family), proper_fraction(rng, family)


def percent_of(rng: random.Random, low: int, high: int, allow_half: bool,
               step: int = 1, percents=PERCENTS) -> tuple[int, int, Fraction]:
    """Pick (p, n), n in low..high by step, so that p% of n is whole (or ends in .5 if allow_half)."""
    ok_denominators = (1, 2) if allow_half else (1,)
    while True:
        p = rng.choice(percents)
        n = rng.randrange(low, high + 1, step)
        part = Fraction(p, 100) * n
        if part.denominator in ok_denominators and part > 0:
            return p, n, part


# ---------------------------------------------------------------------------
# Arithmetic (each template returns (question, answer_string))
# ---------------------------------------------------------------------------

def ar_add_bare(rng):
    a, b = rng.randint(10, 99), rng.randint(10, 99)
    return f"What is {a} + {b}?", fmt_int(a + b)


def ar_sub_bare(rng):
    a = rng.randint(20, 99)
    b = rng.randint(5, a - 1)
    return f"Compute {a} - {b}.", fmt_int(a - b)


def ar_mul_bare(rng):
    a, b = rng.randint(2, 12), rng.randint(2, 12)
    return f"What is {a} × {b}?", fmt_int(a * b)


def ar_div_bare(rng):
    b, q = rng.randint(2, 9), rng.randint(2, 12)
    return f"Calculate {b * q} ÷ {b}.", fmt_int(q)


def ar_add_three_digit(rng):
    a, b = rng.randint(100, 499), rng.randint(100, 499)
    return f"Add {a} and {b}.", fmt_int(a + b)


def ar_sub_three_digit(rng):
    a = rng.randint(300, 999)
    b = rng.randint(100, a - 50)
    return f"Subtract {b} from {a}.", fmt_int(a - b)


def ar_two_step_bare(rng):
    a, b = rng.randint(10, 60), rng.randint(10, 40)
    c = rng.randint(1, a + b - 1)
    return f"What is {a} + {b} - {c}?", fmt_int(a + b - c)


def ar_mul_add_bare(rng):
    a, b, c = rng.randint(2, 9), rng.randint(2, 9), rng.randint(1, 20)
    return f"Compute {a} × {b} + {c}.", fmt_int(a * b + c)


def ar_negative_bare(rng):
    a = rng.randint(1, 15)
    b = rng.randint(a + 1, 20)
    return f"What is {a} - {b}?", fmt_int(a - b)


def ar_mul_two_digit(rng):
    a, b = rng.randint(2, 9), rng.randint(11, 20)
    return f"Find the value of {a} × {b}.", fmt_int(a * b)


def ar_apples(rng):
    name = rng.choice(NAMES)
    a, b = rng.randint(3, 40), rng.randint(2, 30)
    return (f"{name} has {a} apples and buys {b} more. How many apples does {name} have now?",
            fmt_int(a + b))


def ar_tickets(rng):
    a, b = rng.randint(20, 150), rng.randint(20, 150)
    return (f"A school sold {a} tickets on Monday and {b} tickets on Tuesday. "
            f"How many tickets did it sell in total?", fmt_int(a + b))


def ar_pages(rng):
    name = rng.choice(NAMES)
    per_day, days = rng.randint(5, 25), rng.randint(2, 7)
    return (f"{name} reads {per_day} pages every day. How many pages does {name} read in {days} days?",
            fmt_int(per_day * days))


def ar_money_left(rng):
    name = rng.choice(NAMES)
    a = rng.randint(20, 95)
    b = rng.randint(3, a - 1)
    return (f"{name} had ${a} and spent ${b} on a book. How many dollars does {name} have left?",
            fmt_int(a - b))


def ar_distance(rng):
    a, b = rng.randint(5, 45), rng.randint(5, 45)
    return (f"A cyclist rides {a} km in the morning and {b} km in the afternoon. "
            f"How many kilometers does the cyclist ride in total?", fmt_int(a + b))


def ar_eggs(rng):
    boxes, per_box = rng.randint(2, 9), rng.choice([6, 10, 12])
    return (f"There are {boxes} boxes with {per_box} eggs in each box. How many eggs are there altogether?",
            fmt_int(boxes * per_box))


def ar_cookies(rng):
    name = rng.choice(NAMES)
    friends, each = rng.randint(2, 8), rng.randint(2, 9)
    return (f"{name} shares {friends * each} cookies equally among {friends} friends. "
            f"How many cookies does each friend get?", fmt_int(each))


def ar_bus(rng):
    a = rng.randint(15, 50)
    off, on = rng.randint(1, a - 5), rng.randint(1, 20)
    return (f"A bus has {a} passengers. At the first stop, {off} people get off and {on} people get on. "
            f"How many passengers are on the bus now?", fmt_int(a - off + on))


def ar_savings(rng):
    name = rng.choice(NAMES)
    weekly, weeks = rng.randint(3, 15), rng.randint(2, 8)
    spent = rng.randint(1, weekly * weeks - 1)
    return (f"{name} saves ${weekly} each week for {weeks} weeks and then spends ${spent}. "
            f"How many dollars does {name} have left?", fmt_int(weekly * weeks - spent))


def ar_marbles(rng):
    first, second = two_names(rng)
    a = rng.randint(10, 50)
    fewer = rng.randint(1, a - 1)
    return (f"{first} has {a} marbles. {second} has {fewer} fewer marbles than {first}. "
            f"How many marbles do they have together?", fmt_int(a + (a - fewer)))


def ar_stickers(rng):
    name = rng.choice(NAMES)
    per_pack, packs = rng.randint(4, 12), rng.randint(2, 6)
    given = rng.randint(1, per_pack * packs - 1)
    return (f"A pack has {per_pack} stickers. {name} buys {packs} packs and gives away {given} stickers. "
            f"How many stickers does {name} have left?", fmt_int(per_pack * packs - given))


def ar_temperature(rng):
    a, b = rng.randint(2, 25), rng.randint(2, 15)
    return (f"The temperature was {a} degrees in the morning and rose by {b} degrees by noon. "
            f"What was the temperature at noon, in degrees?", fmt_int(a + b))


def ar_library(rng):
    a, b = rng.randint(100, 400), rng.randint(10, 90)
    c = rng.randint(10, 90)
    return (f"A library had {a} books and received {b} new books. Then {c} books were checked out. "
            f"How many books are still on the shelves?", fmt_int(a + b - c))


ARITHMETIC = [
    ar_add_bare, ar_sub_bare, ar_mul_bare, ar_div_bare, ar_add_three_digit,
    ar_sub_three_digit, ar_two_step_bare, ar_mul_add_bare, ar_negative_bare, ar_mul_two_digit,
    ar_apples, ar_tickets, ar_pages, ar_money_left, ar_distance, ar_eggs, ar_cookies,
    ar_bus, ar_savings, ar_marbles, ar_stickers, ar_temperature, ar_library,
]


# ---------------------------------------------------------------------------
# Fractions
# ---------------------------------------------------------------------------

def fr_add_bare(rng):
    f, g = fraction_pair(rng)
    return f"What is {f} + {g}?", fmt_fraction(f + g)


def fr_sub_bare(rng):
    while True:
        f, g = fraction_pair(rng)
        if f > g:
            return f"Compute {f} - {g}.", fmt_fraction(f - g)


def fr_mul_bare(rng):
    f, g = proper_fraction(rng, [2, 3, 4, 5, 6]), proper_fraction(rng, [2, 3, 4, 5, 6])
    return f"What is {f} × {g}?", fmt_fraction(f * g)


def fr_simplify(rng):
    f = proper_fraction(rng, [2, 3, 4, 5, 6, 7, 8, 9])
    k = rng.randint(2, 6)
    return f"Simplify {f.numerator * k}/{f.denominator * k}.", fmt_fraction(f)


def fr_of_number(rng):
    f = proper_fraction(rng)
    n = f.denominator * rng.randint(1, 10)
    return f"What is {f} of {n}?", fmt_fraction(f * n)


def fr_divide_by_whole(rng):
    f, k = proper_fraction(rng), rng.randint(2, 5)
    return f"Divide {f} by {k}.", fmt_fraction(f / k)


def fr_sum_words(rng):
    f, g = fraction_pair(rng)
    return f"Find the sum of {f} and {g}.", fmt_fraction(f + g)


def fr_pizza(rng):
    first, second = two_names(rng)
    while True:
        f, g = fraction_pair(rng)
        if f + g <= 1:
            break
    return (f"{first} ate {f} of a pizza and {second} ate {g} of it. "
            f"What fraction of the pizza did they eat together?", fmt_fraction(f + g))


def fr_cake_left(rng):
    name = rng.choice(NAMES)
    f = proper_fraction(rng)
    return (f"{name} cut a cake and ate {f} of it. What fraction of the cake is left?",
            fmt_fraction(1 - f))


def fr_ribbon(rng):
    name = rng.choice(NAMES)
    while True:
        f, g = fraction_pair(rng)
        if f > g:
            break
    return (f"A ribbon is {f} of a meter long. {name} cuts off {g} of a meter. "
            f"How many meters of ribbon are left?", fmt_fraction(f - g))


def fr_walk(rng):
    name = rng.choice(NAMES)
    f, g = fraction_pair(rng)
    return (f"{name} walked {f} of a mile to the park and then {g} of a mile to the store. "
            f"How many miles did {name} walk in total?", fmt_fraction(f + g))


def fr_class(rng):
    f = proper_fraction(rng, [2, 3, 4, 5, 6])
    n = f.denominator * rng.randint(3, 6)
    return (f"There are {n} students in a class, and {f} of them have a pet. "
            f"How many students have a pet?", fmt_fraction(f * n))


def fr_recipe(rng):
    f = proper_fraction(rng, [2, 3, 4])
    k = rng.randint(2, 4)
    return (f"A recipe needs {f} cup of sugar. How many cups of sugar are needed for {k} batches?",
            fmt_fraction(f * k))


def fr_juice(rng):
    name = rng.choice(NAMES)
    f = proper_fraction(rng, [2, 3, 4, 5])
    n = f.denominator * rng.randint(1, 4)
    return (f"A jug holds {n} liters of juice. {name} pours out {f} of the juice. "
            f"How many liters does {name} pour out?", fmt_fraction(f * n))


def fr_book_left(rng):
    name = rng.choice(NAMES)
    f = proper_fraction(rng, [2, 3, 4, 5, 8, 10])
    n = f.denominator * rng.randint(20 // f.denominator + 1, 120 // f.denominator)  # 20 to 120 pages
    return (f"A book has {n} pages. {name} has read {f} of the book. "
            f"How many pages are left to read?", fmt_fraction(n - f * n))


FRACTIONS = [
    fr_add_bare, fr_sub_bare, fr_mul_bare, fr_simplify, fr_of_number, fr_divide_by_whole,
    fr_sum_words, fr_pizza, fr_cake_left, fr_ribbon, fr_walk, fr_class, fr_recipe,
    fr_juice, fr_book_left,
]


# ---------------------------------------------------------------------------
# Percentages (answers are quantities, never "what percent")
# ---------------------------------------------------------------------------

def pc_what_is(rng):
    p, n, part = percent_of(rng, 10, 200, allow_half=True)
    return f"What is {p}% of {n}?", fmt_decimal(part)


def pc_find(rng):
    p, n, part = percent_of(rng, 10, 200, allow_half=False)
    return f"Find {p}% of {n}.", fmt_decimal(part)


def pc_calculate(rng):
    p, n, part = percent_of(rng, 10, 120, allow_half=True)
    return f"Calculate {p} percent of {n}.", fmt_decimal(part)


def pc_what_number(rng):
    p, n, part = percent_of(rng, 10, 200, allow_half=False)
    return f"What number is {p}% of {n}?", fmt_decimal(part)


def pc_discount(rng):
    item = rng.choice(["shirt", "jacket", "backpack", "lamp", "pair of shoes"])
    p, n, part = percent_of(rng, 10, 90, allow_half=True)
    return (f"A {item} costs ${n}. It is on sale for {p}% off. "
            f"How many dollars does it cost after the discount?", fmt_decimal(n - part))


def pc_walk_to_school(rng):
    p, n, part = percent_of(rng, 10, 40, allow_half=False)
    return (f"There are {n} students in a class, and {p}% of them walk to school. "
            f"How many students walk to school?", fmt_decimal(part))


def pc_tip(rng):
    name = rng.choice(NAMES)
    p, n, part = percent_of(rng, 10, 80, allow_half=True, percents=[10, 15, 20, 25])
    return (f"A meal costs ${n}. {name} leaves a {p}% tip. How many dollars is the tip?",
            fmt_decimal(part))


def pc_price_increase(rng):
    item = rng.choice(["bike", "game", "ticket", "radio"])
    p, n, part = percent_of(rng, 10, 150, allow_half=True, percents=[5, 10, 20, 25, 50])
    return (f"A {item} costs ${n}. The price goes up by {p}%. What is the new price in dollars?",
            fmt_decimal(n + part))


def pc_test(rng):
    name = rng.choice(NAMES)
    p, n, part = percent_of(rng, 10, 50, allow_half=False)
    return (f"A test has {n} questions. {name} answered {p}% of them correctly. "
            f"How many questions did {name} answer correctly?", fmt_decimal(part))


def pc_tank(rng):
    p, n, part = percent_of(rng, 10, 200, allow_half=True)
    return (f"A water tank holds {n} liters. It is {p}% full. How many liters of water are in the tank?",
            fmt_decimal(part))


def pc_savings(rng):
    name = rng.choice(NAMES)
    p, n, part = percent_of(rng, 20, 200, allow_half=True)
    return (f"{name} earns ${n} and saves {p}% of it. How many dollars does {name} save?",
            fmt_decimal(part))


def pc_green_apples(rng):
    p, n, part = percent_of(rng, 10, 80, allow_half=False)
    return (f"A basket has {n} apples, and {p}% of them are green. How many apples are green?",
            fmt_decimal(part))


def pc_town(rng):
    p, n, part = percent_of(rng, 100, 900, allow_half=False, step=20)
    return (f"A town has {n} people, and {p}% of them ride a bike to work. "
            f"How many people ride a bike to work?", fmt_decimal(part))


def pc_toys_left(rng):
    p, n, part = percent_of(rng, 10, 120, allow_half=False)
    return (f"A store had {n} toys and sold {p}% of them. How many toys are left?",
            fmt_decimal(n - part))


PERCENTAGES = [
    pc_what_is, pc_find, pc_calculate, pc_what_number, pc_discount, pc_walk_to_school,
    pc_tip, pc_price_increase, pc_test, pc_tank, pc_savings, pc_green_apples, pc_town,
    pc_toys_left,
]


# ---------------------------------------------------------------------------
# Linear equations (integer solutions; the answer is the value of the unknown)
# ---------------------------------------------------------------------------

def le_ax_plus_b(rng):
    a, x, b = rng.randint(2, 9), rng.randint(1, 12), rng.randint(1, 20)
    return f"Solve for x: {linear_side(a, 'x', b)} = {a * x + b}.", fmt_int(x)


def le_ax_minus_b(rng):
    a, x, b = rng.randint(2, 9), rng.randint(1, 12), rng.randint(1, 20)
    return f"Solve for x: {linear_side(a, 'x', -b)} = {a * x - b}.", fmt_int(x)


def le_y_plus_b(rng):
    y, b = rng.randint(1, 50), rng.randint(1, 40)
    return f"Solve for y: y + {b} = {y + b}.", fmt_int(y)


def le_an_equals_c(rng):
    a, n = rng.randint(2, 12), rng.randint(2, 12)
    return f"Find n if {a}n = {a * n}.", fmt_int(n)


def le_x_over_a(rng):
    a, q, b = rng.randint(2, 6), rng.randint(1, 9), rng.randint(1, 10)
    return f"Solve for x: x/{a} + {b} = {q + b}.", fmt_int(a * q)


def le_parentheses(rng):
    a, x, b = rng.randint(2, 5), rng.randint(1, 10), rng.randint(1, 8)
    return f"Solve for x: {a}(x + {b}) = {a * (x + b)}.", fmt_int(x)


def le_both_sides(rng):
    while True:
        c = rng.randint(1, 5)
        a = c + rng.randint(1, 4)
        x, d = rng.randint(1, 10), rng.randint(1, 20)
        b = c * x + d - a * x  # chosen so that a*x + b = c*x + d
        if b != 0:
            return f"Solve for x: {linear_side(a, 'x', b)} = {linear_side(c, 'x', d)}.", fmt_int(x)


def le_negative_solution(rng):
    a, x, b = rng.randint(2, 6), -rng.randint(1, 9), rng.randint(1, 30)
    return f"What value of x makes {linear_side(a, 'x', b)} = {a * x + b} true?", fmt_int(x)


def le_m_minus_b(rng):
    m, b = rng.randint(1, 60), rng.randint(1, 30)
    return f"Solve for m: m - {b} = {m - b}.", fmt_int(m)


def le_think_of_number(rng):
    a, x, b = rng.randint(2, 6), rng.randint(1, 15), rng.randint(1, 20)
    return (f"I think of a number, multiply it by {a}, and add {b}. The result is {a * x + b}. "
            f"What is the number?", fmt_int(x))


def le_marbles_start(rng):
    name = rng.choice(NAMES)
    start, won = rng.randint(5, 40), rng.randint(2, 25)
    return (f"{name} had some marbles and then won {won} more. Now {name} has {start + won} marbles. "
            f"How many marbles did {name} have at first?", fmt_int(start))


def le_notebooks(rng):
    name = rng.choice(NAMES)
    count, price, pen = rng.randint(2, 6), rng.randint(2, 9), rng.randint(1, 5)
    return (f"{name} buys {count} notebooks and a pen that costs ${pen}. The total is ${count * price + pen}. "
            f"How many dollars does one notebook cost?", fmt_int(price))


def le_ages(rng):
    name = rng.choice(NAMES)
    age, times = rng.randint(4, 12), rng.randint(3, 5)
    return (f"{name}'s mother is {times} times as old as {name}. Their ages add up to {age * (times + 1)}. "
            f"How old is {name}?", fmt_int(age))


def le_doubled(rng):
    x, b = rng.randint(3, 30), rng.randint(1, 10)
    return (f"When a number is doubled and then {b} is subtracted, the result is {2 * x - b}. "
            f"What is the number?", fmt_int(x))


def le_taxi(rng):
    base, per_km, km = rng.randint(2, 6), rng.randint(1, 3), rng.randint(2, 15)
    return (f"A taxi ride costs ${base} plus ${per_km} per kilometer. A ride cost ${base + per_km * km}. "
            f"How many kilometers long was the ride?", fmt_int(km))


def le_sum_with(rng):
    x, b = rng.randint(1, 60), rng.randint(1, 40)
    return f"The sum of a number and {b} is {x + b}. What is the number?", fmt_int(x)


def le_rectangle(rng):
    width = rng.randint(2, 12)
    length = width + rng.randint(1, 10)
    return (f"A rectangle has a perimeter of {2 * (length + width)} cm and a length of {length} cm. "
            f"What is its width in centimeters?", fmt_int(width))


LINEAR = [
    le_ax_plus_b, le_ax_minus_b, le_y_plus_b, le_an_equals_c, le_x_over_a, le_parentheses,
    le_both_sides, le_negative_solution, le_m_minus_b, le_think_of_number, le_marbles_start,
    le_notebooks, le_ages, le_doubled, le_taxi, le_sum_with, le_rectangle,
]

TEMPLATES = {
    "arithmetic": ARITHMETIC,
    "fractions": FRACTIONS,
    "percentages": PERCENTAGES,
    "linear_equations": LINEAR,
}


# ---------------------------------------------------------------------------
# Assembly
# ---------------------------------------------------------------------------

def generate_topic(rng: random.Random, topic: str, count: int, seen: set[str]) -> list[dict]:
    """Cycle through the topic's templates so every phrasing is used about equally."""
    templates = TEMPLATES[topic]
    problems = []
    i = 0
    while len(problems) < count:
        template = templates[i % len(templates)]
        for _ in range(100):  # retry the same template until the question is new
            question, answer = template(rng)
            if question not in seen:
                break
        else:
            raise RuntimeError(f"template {template.__name__} keeps producing duplicates")
        seen.add(question)
        problems.append({"topic": topic, "question": question, "answer": answer})
        i += 1
    return problems


def build(rng: random.Random) -> list[dict]:
    seen: set[str] = set()
    by_topic = {t: generate_topic(rng, t, n, seen) for t, n in TOPIC_COUNTS.items()}

    # Fixed held-out split, stratified: each topic gets its share of the 60 eval problems.
    total = sum(TOPIC_COUNTS.values())
    for topic, problems in by_topic.items():
        n_eval = round(EVAL_TOTAL * len(problems) / total)
        eval_idx = set(rng.sample(range(len(problems)), n_eval))
        for idx, problem in enumerate(problems):
            problem["split"] = "eval" if idx in eval_idx else "train"

    rows = [p for problems in by_topic.values() for p in problems]
    rng.shuffle(rows)  # interleave topics; ids follow the shuffled order
    extra_rng = random.Random(SEED + 1)
    extra = [dict(p, split="eval") for t, n in TOPIC_COUNTS.items()
             for p in generate_topic(extra_rng, t, round(EXTRA_EVAL * n / total), seen)]
    extra_rng.shuffle(extra)
    rows += extra
    return [
        {
            "id": f"math-{i:04d}",
            "domain": "math",
            "topic": row["topic"],
            "question": row["question"],
            "answer": row["answer"],
            "split": row["split"],
        }
        for i, row in enumerate(rows, start=1)
    ]


def check(rows: list[dict]) -> None:
    keys = ["id", "domain", "topic", "question", "answer", "split"]
    assert len(rows) >= 330, len(rows)
    assert all(list(r) == keys for r in rows)
    assert len({r["id"] for r in rows}) == len(rows), "duplicate ids"
    assert len({r["question"] for r in rows}) == len(rows), "duplicate questions"
    assert sum(r["split"] == "eval" for r in rows) == EVAL_TOTAL + EXTRA_EVAL, "eval split size"
    assert {r["split"] for r in rows} == {"train", "eval"}
    assert {r["topic"] for r in rows} == set(TOPIC_COUNTS)
    for r in rows:
        Fraction(r["answer"])  # raises if the answer is not an exact number
        assert "$" not in r["answer"] and "%" not in r["answer"], r
        assert r["answer"].strip() == r["answer"] and r["answer"], r


def main() -> None:
    rows = build(random.Random(SEED))
    check(rows)
    with OUT_PATH.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} problems to {OUT_PATH}")


if __name__ == "__main__":
    main()
