"""Build examples/code/tasks.jsonl: function-level Python coding problems with assert tests.

Run from the repository root:

    python examples/code/build_tasks.py            # writes examples/code/tasks.jsonl
    python examples/code/build_tasks.py OUT.jsonl  # writes somewhere else

Every task below was written for this repository. Each one has a problem
statement that names the exact function signature, an entry point, 4-8
plain `assert` tests and a reference solution. The reference solution stays in
this file: it is NOT written to the JSONL (a teacher must not see it, and the
verifier does not need it).

Before writing anything the builder checks every task, each in a fresh
`python -I` subprocess with a timeout:

* the reference solution followed by the tests must exit 0;
* two deliberately wrong solutions (one returning None, one returning its
  first argument unchanged) must each fail the tests, so the tests can fail.

A failing check exits non-zero naming the task. The output is deterministic,
byte for byte (tasks are data, rows are written in id order with fixed keys).
"""

import json
import subprocess
import sys
import tempfile
import textwrap
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

OUT_PATH = Path(__file__).with_name("tasks.jsonl")
TOPICS = ("strings", "lists", "math", "dicts", "recursion", "parsing", "sorting", "simulation")
EVAL_TOTAL = 8
MIN_TESTS, MAX_TESTS = 4, 8
TIMEOUT_S = 20


@dataclass(frozen=True)
class Task:
    id: str
    topic: str
    entry_point: str
    question: str
    tests: str
    solution: str
    split: str = "train"


def task(id: str, topic: str, entry_point: str, question: str, tests: str, solution: str,
         split: str = "train") -> Task:
    """Normalise whitespace: one-paragraph question, dedented tests and solution ending in one newline."""
    return Task(
        id=id, topic=topic, entry_point=entry_point,
        question=" ".join(question.split()),
        tests=textwrap.dedent(tests).strip() + "\n",
        solution=textwrap.dedent(solution).strip() + "\n",
        split=split,
    )


TASKS: list[Task] = [
    # ------------------------------------------------------------------ strings
    task("code-001", "strings", "compress_runs", """
        Write a Python function `compress_runs(s: str) -> str` that replaces every maximal run of
        the same character in `s` by that character followed by the length of the run, except that
        a run of length 1 is written as the bare character. For example "aaabcc" becomes "a3bc2".
        Characters are compared exactly (case-sensitive). An empty string gives an empty string.
    """, """
        assert compress_runs("") == ""
        assert compress_runs("a") == "a"
        assert compress_runs("aaabcc") == "a3bc2"
        assert compress_runs("abc") == "abc"
        assert compress_runs("zzzzzzzzzzzz") == "z12"
        assert compress_runs("aAaa") == "aAa2"
    """, """
        def compress_runs(s: str) -> str:
            out = []
            i = 0
            while i < len(s):
                j = i
                while j < len(s) and s[j] == s[i]:
                    j += 1
                n = j - i
                out.append(s[i] if n == 1 else f"{s[i]}{n}")
                i = j
            return "".join(out)
    """),
    task("code-002", "strings", "capitalize_words", """
        Write a Python function `capitalize_words(text: str, keep_lower: set[str]) -> str` for title
        casing. Split `text` on single spaces (as `text.split(" ")` does, so runs of spaces are kept
        and empty pieces stay empty). Each non-empty word becomes its first character upper-cased
        followed by the rest lower-cased, except that a word whose lower-cased form is in
        `keep_lower` becomes fully lower-case. The first non-empty word of the text is always
        capitalized, even if it is in `keep_lower`. Join the pieces back with single spaces.
    """, """
        assert capitalize_words("the lord of the rings", {"of", "the"}) == "The Lord of the Rings"
        assert capitalize_words("", {"a"}) == ""
        assert capitalize_words("hELLO wORLD", set()) == "Hello World"
        assert capitalize_words("  a tale  OF two", {"of", "a"}) == "  A Tale  of Two"
        assert capitalize_words("of", {"of"}) == "Of"
        assert capitalize_words("x", set()) == "X"
    """, """
        def capitalize_words(text: str, keep_lower: set) -> str:
            out = []
            seen_first = False
            for word in text.split(" "):
                if not word:
                    out.append(word)
                    continue
                if seen_first and word.lower() in keep_lower:
                    out.append(word.lower())
                else:
                    out.append(word[:1].upper() + word[1:].lower())
                seen_first = True
            return " ".join(out)
    """),
    task("code-003", "strings", "is_rotation", """
        Write a Python function `is_rotation(a: str, b: str) -> bool` that returns True if `b` can
        be obtained from `a` by moving some prefix of `a` (possibly empty) to its end, and False
        otherwise. For example "erbottlewat" is a rotation of "waterbottle". Two empty strings are
        rotations of each other.
    """, """
        assert is_rotation("waterbottle", "erbottlewat") is True
        assert is_rotation("abc", "abc") is True
        assert is_rotation("", "") is True
        assert is_rotation("abc", "acb") is False
        assert is_rotation("aa", "a") is False
        assert is_rotation("abcd", "cdab") is True
    """, """
        def is_rotation(a: str, b: str) -> bool:
            return len(a) == len(b) and b in a + a
    """),
    task("code-004", "strings", "mask_secret", """
        Write a Python function `mask_secret(s: str, visible: int) -> str` that returns `s` with
        every character except the last `visible` ones replaced by "*". If `visible` is at least
        the length of `s`, return `s` unchanged. `visible` is never negative; with `visible == 0`
        every character is masked.
    """, """
        assert mask_secret("4111222233334444", 4) == "************4444"
        assert mask_secret("abc", 0) == "***"
        assert mask_secret("abc", 3) == "abc"
        assert mask_secret("abc", 10) == "abc"
        assert mask_secret("", 2) == ""
        assert mask_secret("hello", 1) == "****o"
    """, """
        def mask_secret(s: str, visible: int) -> str:
            if visible >= len(s):
                return s
            hidden = len(s) - visible
            return "*" * hidden + s[hidden:]
    """),
    task("code-005", "strings", "longest_vowel_run", """
        Write a Python function `longest_vowel_run(s: str) -> int` that returns the length of the
        longest block of consecutive vowels in `s`. The vowels are a, e, i, o and u in either case
        ("y" is not a vowel). Return 0 if `s` contains no vowel.
    """, """
        assert longest_vowel_run("") == 0
        assert longest_vowel_run("rhythm") == 0
        assert longest_vowel_run("beautiful") == 3
        assert longest_vowel_run("queueing") == 5
        assert longest_vowel_run("AEIOU") == 5
        assert longest_vowel_run("a b") == 1
        assert longest_vowel_run("yay") == 1
    """, """
        def longest_vowel_run(s: str) -> int:
            best = current = 0
            for ch in s:
                if ch.lower() in "aeiou":
                    current += 1
                    best = max(best, current)
                else:
                    current = 0
            return best
    """),
    task("code-006", "strings", "interleave_strings", """
        Write a Python function `interleave_strings(a: str, b: str) -> str` that alternates the
        characters of the two strings, starting with the first character of `a`, then the first of
        `b`, then the second of `a`, and so on. When one string runs out, append the rest of the
        other. For example ("ab", "12345") gives "a1b2345".
    """, """
        assert interleave_strings("abc", "123") == "a1b2c3"
        assert interleave_strings("ab", "12345") == "a1b2345"
        assert interleave_strings("abcd", "1") == "a1bcd"
        assert interleave_strings("", "xyz") == "xyz"
        assert interleave_strings("", "") == ""
    """, """
        def interleave_strings(a: str, b: str) -> str:
            out = []
            for i in range(max(len(a), len(b))):
                if i < len(a):
                    out.append(a[i])
                if i < len(b):
                    out.append(b[i])
            return "".join(out)
    """),
    task("code-007", "strings", "caesar_shift", """
        Write a Python function `caesar_shift(text: str, k: int) -> str` that shifts every ASCII
        letter in `text` by `k` positions in the alphabet, wrapping around from z to a, and keeps
        its case ("x" shifted by 3 is "a", "Y" shifted by 2 is "A"). Every other character,
        including non-ASCII letters, is left unchanged. `k` may be negative or larger than 26.
    """, """
        assert caesar_shift("abc", 1) == "bcd"
        assert caesar_shift("xyz", 3) == "abc"
        assert caesar_shift("Hello, World!", 13) == "Uryyb, Jbeyq!"
        assert caesar_shift("bcd", -1) == "abc"
        assert caesar_shift("Zz", 52) == "Zz"
        assert caesar_shift("ab", 27) == "bc"
        assert caesar_shift("", 5) == ""
        assert caesar_shift("é1 a", 1) == "é1 b"
    """, """
        def caesar_shift(text: str, k: int) -> str:
            out = []
            for ch in text:
                if "a" <= ch <= "z":
                    out.append(chr((ord(ch) - ord("a") + k) % 26 + ord("a")))
                elif "A" <= ch <= "Z":
                    out.append(chr((ord(ch) - ord("A") + k) % 26 + ord("A")))
                else:
                    out.append(ch)
            return "".join(out)
    """, split="eval"),
    # -------------------------------------------------------------------- lists
    task("code-008", "lists", "rotate_left", """
        Write a Python function `rotate_left(items: list, k: int) -> list` that returns a new list
        with the elements of `items` rotated left by `k` positions: `rotate_left([1, 2, 3, 4, 5], 2)`
        is `[3, 4, 5, 1, 2]`. `k` may be larger than the length of the list, and a negative `k`
        rotates right. An empty list gives `[]`. The input list must not be modified.
    """, """
        assert rotate_left([1, 2, 3, 4, 5], 2) == [3, 4, 5, 1, 2]
        assert rotate_left([1, 2, 3], 0) == [1, 2, 3]
        assert rotate_left([1, 2, 3], 4) == [2, 3, 1]
        assert rotate_left([1, 2, 3], -1) == [3, 1, 2]
        assert rotate_left([], 3) == []
        data = [1, 2, 3]
        assert rotate_left(data, 1) == [2, 3, 1] and data == [1, 2, 3]
    """, """
        def rotate_left(items: list, k: int) -> list:
            if not items:
                return []
            k %= len(items)
            return items[k:] + items[:k]
    """),
    task("code-009", "lists", "chunk", """
        Write a Python function `chunk(items: list, size: int) -> list[list]` that splits `items`
        into consecutive sublists of length `size`, in order; the last sublist may be shorter. `size`
        is always at least 1. An empty list gives `[]`.
    """, """
        assert chunk([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]
        assert chunk([1, 2, 3], 3) == [[1, 2, 3]]
        assert chunk([1, 2], 5) == [[1, 2]]
        assert chunk([], 4) == []
        assert chunk(["a", "b", "c"], 1) == [["a"], ["b"], ["c"]]
    """, """
        def chunk(items: list, size: int) -> list:
            return [items[i:i + size] for i in range(0, len(items), size)]
    """),
    task("code-010", "lists", "running_max", """
        Write a Python function `running_max(nums: list[int]) -> list[int]` that returns a list of
        the same length whose element `i` is the largest of `nums[0]` .. `nums[i]`. An empty list
        gives `[]`.
    """, """
        assert running_max([3, 1, 4, 1, 5, 9, 2]) == [3, 3, 4, 4, 5, 9, 9]
        assert running_max([]) == []
        assert running_max([-5, -7, -2]) == [-5, -5, -2]
        assert running_max([2, 2, 2]) == [2, 2, 2]
        assert running_max([1]) == [1]
    """, """
        def running_max(nums: list) -> list:
            out = []
            for x in nums:
                out.append(x if not out else max(out[-1], x))
            return out
    """),
    task("code-011", "lists", "dedupe_keep_order", """
        Write a Python function `dedupe_keep_order(items: list) -> list` that returns a new list with
        duplicate elements removed, keeping the first occurrence of each element and the original
        order. The elements are hashable.
    """, """
        assert dedupe_keep_order([3, 1, 3, 2, 1]) == [3, 1, 2]
        assert dedupe_keep_order([]) == []
        assert dedupe_keep_order(["b", "a", "b", "B"]) == ["b", "a", "B"]
        assert dedupe_keep_order([1, 1, 1]) == [1]
        assert dedupe_keep_order([(1, 2), (1, 2), (2, 1)]) == [(1, 2), (2, 1)]
    """, """
        def dedupe_keep_order(items: list) -> list:
            seen = set()
            out = []
            for item in items:
                if item not in seen:
                    seen.add(item)
                    out.append(item)
            return out
    """),
    task("code-012", "lists", "second_largest", """
        Write a Python function `second_largest(nums: list[int]) -> int | None` that returns the
        second-largest distinct value in `nums` (so in `[7, 7, 5]` it is 5), or None if `nums`
        has fewer than two distinct values.
    """, """
        assert second_largest([4, 1, 7, 3]) == 4
        assert second_largest([7, 7, 5]) == 5
        assert second_largest([7, 7]) is None
        assert second_largest([]) is None
        assert second_largest([-1, -3, -2]) == -2
        assert second_largest([10, 9, 10, 9, 8]) == 9
    """, """
        def second_largest(nums: list):
            distinct = sorted(set(nums), reverse=True)
            return distinct[1] if len(distinct) >= 2 else None
    """, split="eval"),
    task("code-013", "lists", "flatten_once", """
        Write a Python function `flatten_once(items: list) -> list` that flattens one level of
        nesting: every element of `items` that is a list is replaced by its elements, and every
        other element (including strings and tuples) is kept as it is. Lists nested deeper stay
        lists: `flatten_once([[1, [2]], [], [3]])` is `[1, [2], 3]`.
    """, """
        assert flatten_once([1, [2, 3], 4]) == [1, 2, 3, 4]
        assert flatten_once([[1, [2]], [], [3]]) == [1, [2], 3]
        assert flatten_once([]) == []
        assert flatten_once(["ab", ("c",), [["d"]]]) == ["ab", ("c",), ["d"]]
        assert flatten_once([[], []]) == []
    """, """
        def flatten_once(items: list) -> list:
            out = []
            for item in items:
                if isinstance(item, list):
                    out.extend(item)
                else:
                    out.append(item)
            return out
    """),
    task("code-014", "lists", "longest_increasing_run", """
        Write a Python function `longest_increasing_run(nums: list[int]) -> int` that returns the
        length of the longest block of consecutive elements of `nums` in which each element is
        strictly greater than the one before it. A single element is a run of length 1; an empty
        list gives 0.
    """, """
        assert longest_increasing_run([]) == 0
        assert longest_increasing_run([5]) == 1
        assert longest_increasing_run([1, 2, 2, 3, 4, 5, 0]) == 4
        assert longest_increasing_run([5, 4, 3]) == 1
        assert longest_increasing_run([1, 3, 5, 7]) == 4
        assert longest_increasing_run([2, 1, 2, 3, 1, 2]) == 3
    """, """
        def longest_increasing_run(nums: list) -> int:
            best = current = 0
            for i, x in enumerate(nums):
                current = current + 1 if i > 0 and x > nums[i - 1] else 1
                best = max(best, current)
            return best
    """),
    # --------------------------------------------------------------------- math
    task("code-015", "math", "digit_root", """
        Write a Python function `digit_root(n: int) -> int` that, for a non-negative integer `n`,
        repeatedly replaces `n` by the sum of its decimal digits until a single digit remains, and
        returns that digit. For example 38 -> 11 -> 2.
    """, """
        assert digit_root(0) == 0
        assert digit_root(7) == 7
        assert digit_root(38) == 2
        assert digit_root(10) == 1
        assert digit_root(123456789) == 9
        assert digit_root(999999999999) == 9
    """, """
        def digit_root(n: int) -> int:
            while n >= 10:
                n = sum(int(d) for d in str(n))
            return n
    """),
    task("code-016", "math", "prime_factors", """
        Write a Python function `prime_factors(n: int) -> list[int]` that returns the prime
        factorization of a positive integer `n` as a list of primes in ascending order, each
        repeated as often as it divides `n` (so 12 gives `[2, 2, 3]`). `prime_factors(1)` is `[]`.
    """, """
        assert prime_factors(1) == []
        assert prime_factors(2) == [2]
        assert prime_factors(12) == [2, 2, 3]
        assert prime_factors(97) == [97]
        assert prime_factors(49) == [7, 7]
        assert prime_factors(360) == [2, 2, 2, 3, 3, 5]
        assert prime_factors(2000006) == [2, 1000003]
    """, """
        def prime_factors(n: int) -> list:
            factors = []
            d = 2
            while d * d <= n:
                while n % d == 0:
                    factors.append(d)
                    n //= d
                d += 1
            if n > 1:
                factors.append(n)
            return factors
    """),
    task("code-017", "math", "gcd_list", """
        Write a Python function `gcd_list(nums: list[int]) -> int` that returns the greatest common
        divisor of all the numbers in `nums`, which may be negative or zero; the result is never
        negative. The gcd of an empty list, or of a list of zeros, is 0.
    """, """
        assert gcd_list([12, 18, 30]) == 6
        assert gcd_list([7]) == 7
        assert gcd_list([-4, 6]) == 2
        assert gcd_list([]) == 0
        assert gcd_list([0, 0]) == 0
        assert gcd_list([0, 15]) == 15
        assert gcd_list([17, 34, 5]) == 1
    """, """
        def gcd_list(nums: list) -> int:
            g = 0
            for x in nums:
                a, b = g, abs(x)
                while b:
                    a, b = b, a % b
                g = a
            return g
    """),
    task("code-018", "math", "to_base", """
        Write a Python function `to_base(n: int, base: int) -> str` that writes the integer `n` in
        the given base, 2 <= base <= 16, using the digits 0-9 and then lowercase a-f, with no prefix
        such as "0x". Negative numbers get a leading "-", and 0 is written "0". For example
        `to_base(255, 16)` is "ff" and `to_base(-10, 2)` is "-1010".
    """, """
        assert to_base(0, 2) == "0"
        assert to_base(10, 2) == "1010"
        assert to_base(255, 16) == "ff"
        assert to_base(-255, 16) == "-ff"
        assert to_base(100, 7) == "202"
        assert to_base(15, 16) == "f"
        assert to_base(1, 3) == "1"
    """, """
        def to_base(n: int, base: int) -> str:
            digits = "0123456789abcdef"
            if n == 0:
                return "0"
            sign = "-" if n < 0 else ""
            n = abs(n)
            out = []
            while n:
                n, r = divmod(n, base)
                out.append(digits[r])
            return sign + "".join(reversed(out))
    """, split="eval"),
    task("code-019", "math", "collatz_steps", """
        Write a Python function `collatz_steps(n: int) -> int` that, for a positive integer `n`,
        counts how many steps it takes to reach 1 when each step replaces `n` by `n // 2` if `n` is
        even and by `3 * n + 1` if `n` is odd. `collatz_steps(1)` is 0.
    """, """
        assert collatz_steps(1) == 0
        assert collatz_steps(2) == 1
        assert collatz_steps(6) == 8
        assert collatz_steps(16) == 4
        assert collatz_steps(27) == 111
    """, """
        def collatz_steps(n: int) -> int:
            steps = 0
            while n != 1:
                n = n // 2 if n % 2 == 0 else 3 * n + 1
                steps += 1
            return steps
    """),
    task("code-020", "math", "count_divisors", """
        Write a Python function `count_divisors(n: int) -> int` that returns how many positive
        integers divide the positive integer `n` exactly (1 and `n` included). It must be fast for
        `n` up to about 10**12.
    """, """
        assert count_divisors(1) == 1
        assert count_divisors(12) == 6
        assert count_divisors(13) == 2
        assert count_divisors(36) == 9
        assert count_divisors(1000000) == 49
        assert count_divisors(999999999989) == 2
    """, """
        def count_divisors(n: int) -> int:
            count = 0
            d = 1
            while d * d <= n:
                if n % d == 0:
                    count += 1 if d * d == n else 2
                d += 1
            return count
    """),
    task("code-021", "math", "is_perfect_square", """
        Write a Python function `is_perfect_square(n: int) -> bool` that returns True if the integer
        `n` is the square of an integer and False otherwise. Negative numbers are never squares. The
        answer must be exact for arbitrarily large integers, so do not rely on floating point.
    """, """
        assert is_perfect_square(0) is True
        assert is_perfect_square(1) is True
        assert is_perfect_square(15) is False
        assert is_perfect_square(16) is True
        assert is_perfect_square(-4) is False
        assert is_perfect_square(10**30) is True
        assert is_perfect_square((2**60 + 1) ** 2) is True
        assert is_perfect_square((2**60 + 1) ** 2 - 1) is False
    """, """
        import math

        def is_perfect_square(n: int) -> bool:
            if n < 0:
                return False
            r = math.isqrt(n)
            return r * r == n
    """),
    # -------------------------------------------------------------------- dicts
    task("code-022", "dicts", "invert_dict", """
        Write a Python function `invert_dict(d: dict[str, object]) -> dict` that inverts a mapping
        whose values are hashable: the result maps each value of `d` to the alphabetically sorted
        list of the keys that had that value. For example `{"x": 1, "b": 1, "a": 2}` gives
        `{1: ["b", "x"], 2: ["a"]}`.
    """, """
        assert invert_dict({}) == {}
        assert invert_dict({"a": 1, "b": 2}) == {1: ["a"], 2: ["b"]}
        assert invert_dict({"x": 1, "b": 1, "a": 2}) == {1: ["b", "x"], 2: ["a"]}
        assert invert_dict({"k": "v"}) == {"v": ["k"]}
        assert invert_dict({"c": 0, "a": 0, "b": 0}) == {0: ["a", "b", "c"]}
    """, """
        def invert_dict(d: dict) -> dict:
            out = {}
            for key, value in d.items():
                out.setdefault(value, []).append(key)
            return {value: sorted(keys) for value, keys in out.items()}
    """),
    task("code-023", "dicts", "word_frequencies", """
        Write a Python function `word_frequencies(text: str) -> dict[str, int]` that counts words
        case-insensitively. A word is a maximal run of ASCII letters (a-z, A-Z); everything else,
        digits and apostrophes included, separates words, so "don't" is the two words "don" and
        "t". The result maps each lower-cased word to its count; text without words gives `{}`.
    """, """
        assert word_frequencies("") == {}
        assert word_frequencies("The cat and the hat.") == {"the": 2, "cat": 1, "and": 1, "hat": 1}
        assert word_frequencies("Go, go, GO!") == {"go": 3}
        assert word_frequencies("don't stop") == {"don": 1, "t": 1, "stop": 1}
        assert word_frequencies("a1b2 c") == {"a": 1, "b": 1, "c": 1}
        assert word_frequencies("123 ...") == {}
    """, """
        import re

        def word_frequencies(text: str) -> dict:
            counts = {}
            for word in re.findall(r"[A-Za-z]+", text):
                word = word.lower()
                counts[word] = counts.get(word, 0) + 1
            return counts
    """),
    task("code-024", "dicts", "merge_counts", """
        Write a Python function `merge_counts(a: dict[str, int], b: dict[str, int]) -> dict[str, int]`
        that returns a new dict mapping every key of `a` or `b` to the sum of its values in both
        (a missing key counts as 0), leaving out keys whose total is 0. Neither input may be
        modified.
    """, """
        assert merge_counts({}, {}) == {}
        assert merge_counts({"a": 1}, {"b": 2}) == {"a": 1, "b": 2}
        assert merge_counts({"a": 1, "b": 2}, {"b": 3}) == {"a": 1, "b": 5}
        assert merge_counts({"a": 2}, {"a": -2, "c": 1}) == {"c": 1}
        assert merge_counts({"z": 0}, {}) == {}
        x, y = {"a": 1}, {"a": 1}
        assert merge_counts(x, y) == {"a": 2} and x == {"a": 1} and y == {"a": 1}
    """, """
        def merge_counts(a: dict, b: dict) -> dict:
            total = dict(a)
            for key, value in b.items():
                total[key] = total.get(key, 0) + value
            return {key: value for key, value in total.items() if value != 0}
    """),
    task("code-025", "dicts", "group_by_length", """
        Write a Python function `group_by_length(words: list[str]) -> dict[int, list[str]]` that
        groups the words by their length: each length that occurs maps to the list of words of that
        length, in their original order, duplicates kept.
    """, """
        assert group_by_length([]) == {}
        assert group_by_length(["a", "bb", "c", "dd", "eee"]) == {1: ["a", "c"], 2: ["bb", "dd"], 3: ["eee"]}
        assert group_by_length(["hi", "hi"]) == {2: ["hi", "hi"]}
        assert group_by_length([""]) == {0: [""]}
        assert group_by_length(["xyz", "ab", "pqr"]) == {3: ["xyz", "pqr"], 2: ["ab"]}
    """, """
        def group_by_length(words: list) -> dict:
            groups = {}
            for word in words:
                groups.setdefault(len(word), []).append(word)
            return groups
    """),
    task("code-026", "dicts", "nested_get", """
        Write a Python function `nested_get(data: dict, path: str, default=None)` that looks up a
        dot-separated path of keys in nested dicts: `nested_get(cfg, "db.host")` returns
        `cfg["db"]["host"]`. If a key along the path is missing, or a value along the way is not a
        dict, return `default`. An empty path returns `data` itself. A stored value of None is
        returned as None, not replaced by the default.
    """, """
        cfg = {"db": {"host": "localhost", "port": 5432, "opts": {"ssl": False}}, "debug": True}
        assert nested_get(cfg, "db.host") == "localhost"
        assert nested_get(cfg, "db.opts.ssl") is False
        assert nested_get(cfg, "db.user") is None
        assert nested_get(cfg, "db.user", "admin") == "admin"
        assert nested_get(cfg, "debug.level", 0) == 0
        assert nested_get(cfg, "") == cfg
        assert nested_get({"a": None}, "a", 5) is None
    """, """
        def nested_get(data: dict, path: str, default=None):
            if path == "":
                return data
            current = data
            for key in path.split("."):
                if not isinstance(current, dict) or key not in current:
                    return default
                current = current[key]
            return current
    """),
    task("code-027", "dicts", "diff_dicts", """
        Write a Python function `diff_dicts(old: dict, new: dict) -> dict[str, list]` that compares
        two dicts with string keys and returns `{"added": [...], "removed": [...], "changed": [...]}`:
        the keys only in `new`, the keys only in `old`, and the keys in both whose values differ
        (compared with `!=`). Each list is sorted alphabetically; all three keys are always present.
    """, """
        assert diff_dicts({}, {}) == {"added": [], "removed": [], "changed": []}
        assert diff_dicts({"a": 1}, {"a": 1}) == {"added": [], "removed": [], "changed": []}
        assert diff_dicts({"a": 1, "b": 2}, {"b": 3, "c": 4}) == {"added": ["c"], "removed": ["a"], "changed": ["b"]}
        assert diff_dicts({"z": 1, "y": 2}, {}) == {"added": [], "removed": ["y", "z"], "changed": []}
        assert diff_dicts({"k": [1]}, {"k": [1, 2], "j": None, "i": 0}) == {"added": ["i", "j"], "removed": [], "changed": ["k"]}
    """, """
        def diff_dicts(old: dict, new: dict) -> dict:
            return {
                "added": sorted(k for k in new if k not in old),
                "removed": sorted(k for k in old if k not in new),
                "changed": sorted(k for k in old if k in new and old[k] != new[k]),
            }
    """, split="eval"),
    task("code-028", "dicts", "majority_element", """
        Write a Python function `majority_element(items: list)` that returns the element occurring
        strictly more than `len(items) / 2` times, or None if there is no such element (an empty
        list has none). The elements are hashable.
    """, """
        assert majority_element([3, 3, 4]) == 3
        assert majority_element([1, 2]) is None
        assert majority_element([]) is None
        assert majority_element(["a", "b", "a", "c", "a"]) == "a"
        assert majority_element([5, 5, 6, 6]) is None
        assert majority_element([9]) == 9
    """, """
        def majority_element(items: list):
            counts = {}
            for item in items:
                counts[item] = counts.get(item, 0) + 1
                if counts[item] * 2 > len(items):
                    return item
            return None
    """),
    # ---------------------------------------------------------------- recursion
    task("code-029", "recursion", "flatten_deep", """
        Write a Python function `flatten_deep(items: list) -> list` that returns all the non-list
        elements found in `items` at any depth of list nesting, in left-to-right order. Only lists
        are flattened; strings and tuples are kept as single elements.
    """, """
        assert flatten_deep([]) == []
        assert flatten_deep([1, [2, [3, [4]]], 5]) == [1, 2, 3, 4, 5]
        assert flatten_deep([[[]], [[], [[]]]]) == []
        assert flatten_deep(["ab", [("c", "d")]]) == ["ab", ("c", "d")]
        assert flatten_deep([[1, 2], [3, [4, [5, [6]]]]]) == [1, 2, 3, 4, 5, 6]
    """, """
        def flatten_deep(items: list) -> list:
            out = []
            for item in items:
                if isinstance(item, list):
                    out.extend(flatten_deep(item))
                else:
                    out.append(item)
            return out
    """),
    task("code-030", "recursion", "count_subset_sums", """
        Write a Python function `count_subset_sums(nums: list[int], target: int) -> int` that counts
        the subsets of positions of `nums` (a list of positive integers) whose elements add up to
        `target`. Equal values at different positions count as different subsets, so
        `count_subset_sums([1, 1, 1], 2)` is 3. The empty subset adds up to 0.
    """, """
        assert count_subset_sums([1, 2, 3], 3) == 2
        assert count_subset_sums([1, 1, 1], 2) == 3
        assert count_subset_sums([], 0) == 1
        assert count_subset_sums([5], 0) == 1
        assert count_subset_sums([2, 4, 6], 5) == 0
        assert count_subset_sums([1, 2, 3, 4, 5], 10) == 3
    """, """
        def count_subset_sums(nums: list, target: int) -> int:
            if not nums:
                return 1 if target == 0 else 0
            first, rest = nums[0], nums[1:]
            return count_subset_sums(rest, target) + count_subset_sums(rest, target - first)
    """, split="eval"),
    task("code-031", "recursion", "distinct_permutations", """
        Write a Python function `distinct_permutations(s: str) -> list[str]` that returns every
        distinct rearrangement of the characters of `s`, each once, sorted in ascending order. For
        example "aab" gives `["aab", "aba", "baa"]`, and the empty string gives `[""]`.
    """, """
        assert distinct_permutations("") == [""]
        assert distinct_permutations("a") == ["a"]
        assert distinct_permutations("ab") == ["ab", "ba"]
        assert distinct_permutations("aab") == ["aab", "aba", "baa"]
        assert distinct_permutations("cba") == ["abc", "acb", "bac", "bca", "cab", "cba"]
        assert len(distinct_permutations("aabbcc")) == 90
    """, """
        def distinct_permutations(s: str) -> list:
            if len(s) <= 1:
                return [s]
            out = []
            for ch in sorted(set(s)):
                i = s.index(ch)
                for rest in distinct_permutations(s[:i] + s[i + 1:]):
                    out.append(ch + rest)
            return out
    """),
    task("code-032", "recursion", "max_depth", """
        Write a Python function `max_depth(items: list) -> int` that returns how deeply lists are
        nested in `items`: a list that contains no list (the empty list included) has depth 1, and
        a list containing lists has depth one more than the deepest of them. Only lists count; a
        tuple or string element adds no depth, even if it contains lists.
    """, """
        assert max_depth([]) == 1
        assert max_depth([1, 2]) == 1
        assert max_depth([1, [2]]) == 2
        assert max_depth([[[]], [1]]) == 3
        assert max_depth([1, [2, [3, [4]]], [5]]) == 4
        assert max_depth(["[x]", (1, [2])]) == 1
    """, """
        def max_depth(items: list) -> int:
            return 1 + max((max_depth(x) for x in items if isinstance(x, list)), default=0)
    """),
    task("code-033", "recursion", "hanoi_moves", """
        Write a Python function `hanoi_moves(n: int, source: str, target: str, spare: str) ->
        list[tuple[str, str]]` that solves the Tower of Hanoi: it returns the shortest sequence of
        moves that carries a stack of `n` disks from peg `source` to peg `target` using peg `spare`,
        each move a `(from_peg, to_peg)` tuple. For `n == 0` return `[]`.
    """, """
        assert hanoi_moves(0, "A", "C", "B") == []
        assert hanoi_moves(1, "A", "C", "B") == [("A", "C")]
        assert hanoi_moves(2, "A", "C", "B") == [("A", "B"), ("A", "C"), ("B", "C")]
        assert hanoi_moves(3, "L", "R", "M") == [("L", "R"), ("L", "M"), ("R", "M"), ("L", "R"), ("M", "L"), ("M", "R"), ("L", "R")]
        assert len(hanoi_moves(10, "a", "b", "c")) == 1023
    """, """
        def hanoi_moves(n: int, source: str, target: str, spare: str) -> list:
            if n == 0:
                return []
            return (hanoi_moves(n - 1, source, spare, target)
                    + [(source, target)]
                    + hanoi_moves(n - 1, spare, target, source))
    """),
    task("code-034", "recursion", "no_adjacent_ones", """
        Write a Python function `no_adjacent_ones(n: int) -> list[str]` that returns all strings of
        length `n` made of the characters "0" and "1" in which no two "1"s are next to each other,
        sorted in ascending order. For `n == 0` the only such string is the empty string, so the
        result is `[""]`.
    """, """
        assert no_adjacent_ones(0) == [""]
        assert no_adjacent_ones(1) == ["0", "1"]
        assert no_adjacent_ones(2) == ["00", "01", "10"]
        assert no_adjacent_ones(3) == ["000", "001", "010", "100", "101"]
        assert len(no_adjacent_ones(10)) == 144
    """, """
        def no_adjacent_ones(n: int) -> list:
            def extend(prefix):
                if len(prefix) == n:
                    return [prefix]
                out = extend(prefix + "0")
                if not prefix.endswith("1"):
                    out += extend(prefix + "1")
                return out
            return extend("")
    """),
    task("code-035", "recursion", "sum_nested", """
        Write a Python function `sum_nested(data) -> int` that adds up every integer found in `data`,
        which is an int, a list or a dict, nested to any depth: list elements and dict values are
        searched (dict keys are not). Anything else (strings, floats, None) counts as 0, and so do
        booleans, even though `bool` is a subclass of `int`.
    """, """
        assert sum_nested(5) == 5
        assert sum_nested([]) == 0
        assert sum_nested([1, [2, 3], {"a": 4}]) == 10
        assert sum_nested({"x": {"y": [1, "2", 3.5, None]}, "z": -1}) == 0
        assert sum_nested({100: "x", "k": [True, 2]}) == 2
        assert sum_nested([[[[7]]], {"a": {"b": {"c": 8}}}]) == 15
    """, """
        def sum_nested(data) -> int:
            if isinstance(data, bool):
                return 0
            if isinstance(data, int):
                return data
            if isinstance(data, list):
                return sum(sum_nested(x) for x in data)
            if isinstance(data, dict):
                return sum(sum_nested(v) for v in data.values())
            return 0
    """),
    # ------------------------------------------------------------------ parsing
    task("code-036", "parsing", "parse_duration", """
        Write a Python function `parse_duration(text: str) -> int` that converts a duration such as
        "1h30m", "45s" or "2h5s" to a number of seconds. The text is a sequence of parts, each a
        non-negative integer followed by a unit: "h" (hours), "m" (minutes) or "s" (seconds). Add
        up all the parts; an empty string is 0 seconds.
    """, """
        assert parse_duration("45s") == 45
        assert parse_duration("1h30m") == 5400
        assert parse_duration("2h5s") == 7205
        assert parse_duration("90m") == 5400
        assert parse_duration("") == 0
        assert parse_duration("1h1m1s") == 3661
    """, """
        import re

        def parse_duration(text: str) -> int:
            scale = {"h": 3600, "m": 60, "s": 1}
            return sum(int(num) * scale[unit] for num, unit in re.findall(r"(\\d+)([hms])", text))
    """),
    task("code-037", "parsing", "roman_to_int", """
        Write a Python function `roman_to_int(s: str) -> int` that converts a valid upper-case Roman
        numeral between 1 and 3999, written with the usual subtractive forms (IV, IX, XL, XC, CD,
        CM), to its integer value. For example "MCMXCIV" is 1994.
    """, """
        assert roman_to_int("I") == 1
        assert roman_to_int("IV") == 4
        assert roman_to_int("IX") == 9
        assert roman_to_int("XLIX") == 49
        assert roman_to_int("LVIII") == 58
        assert roman_to_int("MCMXCIV") == 1994
        assert roman_to_int("MMMCMXCIX") == 3999
    """, """
        def roman_to_int(s: str) -> int:
            values = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
            total = 0
            for i, ch in enumerate(s):
                v = values[ch]
                if i + 1 < len(s) and values[s[i + 1]] > v:
                    total -= v
                else:
                    total += v
            return total
    """),
    task("code-038", "parsing", "parse_query_string", """
        Write a Python function `parse_query_string(qs: str) -> dict[str, list[str]]` that parses a
        URL query string such as "a=1&b=2&a=3" into `{"a": ["1", "3"], "b": ["2"]}`. A leading "?"
        is ignored, pairs are separated by "&", empty pairs are skipped, each pair is split at its
        first "=", and a pair without "=" has the value "". Values keep their order of appearance.
        Do not decode percent-escapes or "+".
    """, """
        assert parse_query_string("") == {}
        assert parse_query_string("?") == {}
        assert parse_query_string("?a=1&b=2") == {"a": ["1"], "b": ["2"]}
        assert parse_query_string("a=1&a=2&b=") == {"a": ["1", "2"], "b": [""]}
        assert parse_query_string("flag&&x=1=2") == {"flag": [""], "x": ["1=2"]}
        assert parse_query_string("q=a%20b+c") == {"q": ["a%20b+c"]}
    """, """
        def parse_query_string(qs: str) -> dict:
            if qs.startswith("?"):
                qs = qs[1:]
            out = {}
            for pair in qs.split("&"):
                if not pair:
                    continue
                key, _, value = pair.partition("=")
                out.setdefault(key, []).append(value)
            return out
    """),
    task("code-039", "parsing", "eval_rpn", """
        Write a Python function `eval_rpn(tokens: list[str]) -> int` that evaluates an expression in
        reverse Polish notation, given as a list of tokens: integers (possibly negative, like "-3")
        and the operators "+", "-", "*" and "/". Division is integer division that truncates toward
        zero (so 7 / -2 is -3). The expression is always valid and never divides by zero.
    """, """
        assert eval_rpn(["42"]) == 42
        assert eval_rpn(["2", "3", "+"]) == 5
        assert eval_rpn(["3", "4", "-"]) == -1
        assert eval_rpn(["4", "13", "5", "/", "+"]) == 6
        assert eval_rpn(["7", "-2", "/"]) == -3
        assert eval_rpn(["-7", "2", "/"]) == -3
        assert eval_rpn(["5", "1", "2", "+", "4", "*", "+", "3", "-"]) == 14
    """, """
        def eval_rpn(tokens: list) -> int:
            stack = []
            for tok in tokens:
                if tok in ("+", "-", "*", "/"):
                    b = stack.pop()
                    a = stack.pop()
                    if tok == "+":
                        stack.append(a + b)
                    elif tok == "-":
                        stack.append(a - b)
                    elif tok == "*":
                        stack.append(a * b)
                    else:
                        q = abs(a) // abs(b)
                        stack.append(q if (a < 0) == (b < 0) else -q)
                else:
                    stack.append(int(tok))
            return stack[-1]
    """, split="eval"),
    task("code-040", "parsing", "parse_csv_line", """
        Write a Python function `parse_csv_line(line: str) -> list[str]` that splits one line of CSV
        into its fields. Fields are separated by commas. A field that starts with a double quote is
        quoted: it runs to the matching closing quote, may contain commas, and inside it two double
        quotes in a row stand for one literal double quote; the closing quote is followed by a comma
        or the end of the line. An empty line is one empty field, `[""]`.
    """, '''
        assert parse_csv_line("a,b,c") == ["a", "b", "c"]
        assert parse_csv_line("") == [""]
        assert parse_csv_line("a,,c,") == ["a", "", "c", ""]
        assert parse_csv_line('"x, y",z') == ["x, y", "z"]
        assert parse_csv_line('"say ""hi""",2') == ['say "hi"', "2"]
        assert parse_csv_line('""') == [""]
        assert parse_csv_line('1,"",3') == ["1", "", "3"]
    ''', '''
        def parse_csv_line(line: str) -> list:
            fields = []
            i, n = 0, len(line)
            while True:
                if i < n and line[i] == '"':
                    i += 1
                    buf = []
                    while i < n:
                        if line[i] == '"':
                            if i + 1 < n and line[i + 1] == '"':
                                buf.append('"')
                                i += 2
                                continue
                            i += 1
                            break
                        buf.append(line[i])
                        i += 1
                    fields.append("".join(buf))
                    if i < n and line[i] == ",":
                        i += 1
                        continue
                    return fields
                j = line.find(",", i)
                if j == -1:
                    fields.append(line[i:])
                    return fields
                fields.append(line[i:j])
                i = j + 1
    '''),
    task("code-041", "parsing", "balanced_brackets", """
        Write a Python function `balanced_brackets(s: str) -> bool` that returns True if the
        brackets (), [] and {} in `s` are balanced and properly nested, ignoring every other
        character, and False otherwise. A string without brackets is balanced.
    """, """
        assert balanced_brackets("") is True
        assert balanced_brackets("([]{})") is True
        assert balanced_brackets("f(a[1], {b: 2})") is True
        assert balanced_brackets("(]") is False
        assert balanced_brackets("(()") is False
        assert balanced_brackets("())(") is False
        assert balanced_brackets("}{") is False
    """, """
        def balanced_brackets(s: str) -> bool:
            pairs = {")": "(", "]": "[", "}": "{"}
            stack = []
            for ch in s:
                if ch in "([{":
                    stack.append(ch)
                elif ch in pairs:
                    if not stack or stack.pop() != pairs[ch]:
                        return False
            return not stack
    """),
    task("code-042", "parsing", "expand_ranges", """
        Write a Python function `expand_ranges(spec: str) -> list[int]` that expands a list of
        page-style ranges such as "1-3,5,8-9" into `[1, 2, 3, 5, 8, 9]`. Items are separated by
        commas; each item is a non-negative integer "N" or an inclusive range "A-B" with A <= B.
        Whitespace around items and around the "-" is ignored, empty items are skipped, and the
        numbers are returned in order of appearance with duplicates kept.
    """, """
        assert expand_ranges("") == []
        assert expand_ranges("   ") == []
        assert expand_ranges("5") == [5]
        assert expand_ranges("1-3,5,8-9") == [1, 2, 3, 5, 8, 9]
        assert expand_ranges(" 2 - 4 , 10 ") == [2, 3, 4, 10]
        assert expand_ranges("7-7,3") == [7, 3]
        assert expand_ranges("3,1-2,,3") == [3, 1, 2, 3]
    """, """
        def expand_ranges(spec: str) -> list:
            out = []
            for item in spec.split(","):
                item = item.strip()
                if not item:
                    continue
                if "-" in item:
                    a, b = item.split("-", 1)
                    out.extend(range(int(a), int(b) + 1))
                else:
                    out.append(int(item))
            return out
    """),
    # ------------------------------------------------------------------ sorting
    task("code-043", "sorting", "sort_by_frequency", """
        Write a Python function `sort_by_frequency(nums: list[int]) -> list[int]` that returns all
        the elements of `nums` reordered so that values occurring more often come first; values with
        the same count are ordered from smallest to largest, and equal values are kept together.
        For example `[4, 6, 2, 6, 4, 4]` gives `[4, 4, 4, 6, 6, 2]`.
    """, """
        assert sort_by_frequency([]) == []
        assert sort_by_frequency([4, 6, 2, 6, 4, 4]) == [4, 4, 4, 6, 6, 2]
        assert sort_by_frequency([3, 1, 2]) == [1, 2, 3]
        assert sort_by_frequency([5, 5, 1, 1, 3]) == [1, 1, 5, 5, 3]
        assert sort_by_frequency([2, -1, 2, -1]) == [-1, -1, 2, 2]
    """, """
        def sort_by_frequency(nums: list) -> list:
            counts = {}
            for x in nums:
                counts[x] = counts.get(x, 0) + 1
            return sorted(nums, key=lambda x: (-counts[x], x))
    """),
    task("code-044", "sorting", "top_k_keys", """
        Write a Python function `top_k_keys(scores: dict[str, int], k: int) -> list[str]` that
        returns the `k` keys with the highest scores, highest first; keys with equal scores are
        ordered alphabetically. If `k` is larger than the number of keys, return all of them; if `k`
        is 0, return `[]`.
    """, """
        assert top_k_keys({"a": 1, "b": 3, "c": 2}, 2) == ["b", "c"]
        assert top_k_keys({"x": 5, "a": 5, "m": 1}, 2) == ["a", "x"]
        assert top_k_keys({"a": 1}, 5) == ["a"]
        assert top_k_keys({"a": 1, "b": 2}, 0) == []
        assert top_k_keys({}, 3) == []
        assert top_k_keys({"z": -1, "y": -2, "w": -1}, 3) == ["w", "z", "y"]
    """, """
        def top_k_keys(scores: dict, k: int) -> list:
            return sorted(scores, key=lambda key: (-scores[key], key))[:k]
    """),
    task("code-045", "sorting", "merge_sorted", """
        Write a Python function `merge_sorted(a: list[int], b: list[int]) -> list[int]` that takes
        two lists already sorted in ascending order and returns one ascending list containing all
        elements of both, duplicates included. Either list may be empty.
    """, """
        assert merge_sorted([], []) == []
        assert merge_sorted([1, 3, 5], [2, 4, 6]) == [1, 2, 3, 4, 5, 6]
        assert merge_sorted([1, 2], []) == [1, 2]
        assert merge_sorted([], [0]) == [0]
        assert merge_sorted([1, 1, 4], [1, 2]) == [1, 1, 1, 2, 4]
        assert merge_sorted([-3, 10], [-5, 0, 20]) == [-5, -3, 0, 10, 20]
    """, """
        def merge_sorted(a: list, b: list) -> list:
            out = []
            i = j = 0
            while i < len(a) and j < len(b):
                if a[i] <= b[j]:
                    out.append(a[i])
                    i += 1
                else:
                    out.append(b[j])
                    j += 1
            return out + a[i:] + b[j:]
    """),
    task("code-046", "sorting", "sort_versions", """
        Write a Python function `sort_versions(versions: list[str]) -> list[str]` that sorts version
        strings made of non-negative integers joined by dots ("1.10", "2", "0.0.1") in ascending
        version order. Versions compare numerically component by component ("1.2" < "1.10"), and
        missing trailing components count as 0, so "1.2" and "1.2.0" are equal; equal versions keep
        their original relative order.
    """, """
        assert sort_versions([]) == []
        assert sort_versions(["1.10", "1.2", "1.9"]) == ["1.2", "1.9", "1.10"]
        assert sort_versions(["2", "1.0.5", "1"]) == ["1", "1.0.5", "2"]
        assert sort_versions(["1.2.0", "1.2", "1.1.9"]) == ["1.1.9", "1.2.0", "1.2"]
        assert sort_versions(["1.2", "1.2.0", "1.1.9"]) == ["1.1.9", "1.2", "1.2.0"]
        assert sort_versions(["0.1", "0.0.1", "0.0.0.2"]) == ["0.0.0.2", "0.0.1", "0.1"]
        assert sort_versions(["10.0", "9.99.99"]) == ["9.99.99", "10.0"]
    """, """
        def sort_versions(versions: list) -> list:
            def key(version):
                parts = [int(p) for p in version.split(".")]
                while parts and parts[-1] == 0:
                    parts.pop()
                return parts
            return sorted(versions, key=key)
    """),
    task("code-047", "sorting", "merge_intervals", """
        Write a Python function `merge_intervals(intervals: list[tuple[int, int]]) ->
        list[tuple[int, int]]` that merges closed intervals given as `(start, end)` tuples with
        start <= end, in any order. Intervals that overlap or touch (share an endpoint, like (1, 3)
        and (3, 5)) are merged into one. Return the merged intervals as tuples sorted by start.
    """, """
        assert merge_intervals([]) == []
        assert merge_intervals([(1, 3), (2, 6), (8, 10)]) == [(1, 6), (8, 10)]
        assert merge_intervals([(5, 7), (1, 2)]) == [(1, 2), (5, 7)]
        assert merge_intervals([(1, 3), (3, 5)]) == [(1, 5)]
        assert merge_intervals([(1, 10), (2, 3), (4, 5)]) == [(1, 10)]
        assert merge_intervals([(4, 4), (1, 2), (2, 2)]) == [(1, 2), (4, 4)]
    """, """
        def merge_intervals(intervals: list) -> list:
            merged = []
            for start, end in sorted(intervals):
                if merged and start <= merged[-1][1]:
                    merged[-1] = (merged[-1][0], max(merged[-1][1], end))
                else:
                    merged.append((start, end))
            return merged
    """, split="eval"),
    task("code-048", "sorting", "sort_people", """
        Write a Python function `sort_people(people: list[tuple[str, int]]) -> list[tuple[str, int]]`
        that sorts `(name, age)` tuples by age from oldest to youngest, and people of the same age by
        name in ascending string order. Return a new list of the same tuples.
    """, """
        assert sort_people([]) == []
        assert sort_people([("Ann", 30), ("Bob", 25), ("Cid", 35)]) == [("Cid", 35), ("Ann", 30), ("Bob", 25)]
        assert sort_people([("Zoe", 20), ("Adam", 20), ("Max", 20)]) == [("Adam", 20), ("Max", 20), ("Zoe", 20)]
        assert sort_people([("Eve", 1), ("Dan", 2), ("Ada", 1)]) == [("Dan", 2), ("Ada", 1), ("Eve", 1)]
        assert sort_people([("Solo", 99)]) == [("Solo", 99)]
    """, """
        def sort_people(people: list) -> list:
            return sorted(people, key=lambda p: (-p[1], p[0]))
    """),
    task("code-049", "sorting", "count_inversions", """
        Write a Python function `count_inversions(nums: list[int]) -> int` that counts the pairs of
        positions `i < j` with `nums[i] > nums[j]`. Equal elements are not an inversion. It should
        handle a few thousand elements in well under a second.
    """, """
        assert count_inversions([]) == 0
        assert count_inversions([1, 2, 3]) == 0
        assert count_inversions([3, 2, 1]) == 3
        assert count_inversions([2, 4, 1, 3, 5]) == 3
        assert count_inversions([1, 1, 1]) == 0
        assert count_inversions(list(range(2000, 0, -1))) == 1999000
    """, """
        def count_inversions(nums: list) -> int:
            def sort_count(xs):
                if len(xs) <= 1:
                    return xs, 0
                mid = len(xs) // 2
                left, a = sort_count(xs[:mid])
                right, b = sort_count(xs[mid:])
                merged, count, i, j = [], a + b, 0, 0
                while i < len(left) and j < len(right):
                    if left[i] <= right[j]:
                        merged.append(left[i])
                        i += 1
                    else:
                        merged.append(right[j])
                        count += len(left) - i
                        j += 1
                return merged + left[i:] + right[j:], count
            return sort_count(list(nums))[1]
    """),
    # --------------------------------------------------------------- simulation
    task("code-050", "simulation", "robot_position", """
        Write a Python function `robot_position(commands: str) -> tuple[int, int]` that simulates a
        robot on a grid. It starts at (0, 0) facing north, the direction of increasing y. For each
        character of `commands`: "F" moves one step forward, "L" turns 90 degrees left, "R" turns 90
        degrees right, and any other character is ignored. Return the final `(x, y)` position.
    """, """
        assert robot_position("") == (0, 0)
        assert robot_position("FF") == (0, 2)
        assert robot_position("RFF") == (2, 0)
        assert robot_position("LF") == (-1, 0)
        assert robot_position("FRFRFRF") == (0, 0)
        assert robot_position("RRFFF LF x") == (1, -3)
        assert robot_position("LLLLF") == (0, 1)
    """, """
        def robot_position(commands: str) -> tuple:
            dx, dy = 0, 1
            x = y = 0
            for c in commands:
                if c == "F":
                    x, y = x + dx, y + dy
                elif c == "L":
                    dx, dy = -dy, dx
                elif c == "R":
                    dx, dy = dy, -dx
            return (x, y)
    """),
    task("code-051", "simulation", "life_step", """
        Write a Python function `life_step(grid: list[str]) -> list[str]` that computes one
        generation of Conway's Game of Life. `grid` is a rectangle of equal-length rows where "#" is
        a live cell and "." a dead one; cells outside the grid are dead (no wrap-around). A live cell
        with 2 or 3 live neighbours (of its 8) stays alive, a dead cell with exactly 3 becomes
        alive, and every other cell is dead next. Return the new grid in the same format.
    """, """
        assert life_step([]) == []
        assert life_step(["."]) == ["."]
        assert life_step(["#"]) == ["."]
        assert life_step(["...", "###", "..."]) == [".#.", ".#.", ".#."]
        assert life_step(["##", "##"]) == ["##", "##"]
        assert life_step(["#..", ".#.", "..#"]) == ["...", ".#.", "..."]
        assert life_step([".#..", "..#.", "###.", "...."]) == ["....", "#.#.", ".##.", ".#.."]
    """, """
        def life_step(grid: list) -> list:
            rows = len(grid)
            out = []
            for r in range(rows):
                cols = len(grid[r])
                line = []
                for c in range(cols):
                    live = 0
                    for dr in (-1, 0, 1):
                        for dc in (-1, 0, 1):
                            if (dr or dc) and 0 <= r + dr < rows and 0 <= c + dc < cols:
                                live += grid[r + dr][c + dc] == "#"
                    alive = grid[r][c] == "#"
                    line.append("#" if live == 3 or (alive and live == 2) else ".")
                out.append("".join(line))
            return out
    """, split="eval"),
    task("code-052", "simulation", "queue_wait_times", """
        Write a Python function `queue_wait_times(arrivals: list[int], service: int) -> list[int]`
        for a shop with one cashier. Customers arrive at the times in `arrivals` (sorted, possibly
        equal), are served one at a time in arrival order, and each takes `service` minutes. A
        customer is served as soon as they have arrived and the cashier is free. Return how long
        each customer waits between arriving and starting to be served.
    """, """
        assert queue_wait_times([], 5) == []
        assert queue_wait_times([0], 5) == [0]
        assert queue_wait_times([0, 1, 2], 3) == [0, 2, 4]
        assert queue_wait_times([0, 10, 11], 5) == [0, 0, 4]
        assert queue_wait_times([3, 3, 3], 2) == [0, 2, 4]
        assert queue_wait_times([5, 20], 0) == [0, 0]
    """, """
        def queue_wait_times(arrivals: list, service: int) -> list:
            waits = []
            free_at = None
            for t in arrivals:
                start = t if free_at is None else max(t, free_at)
                waits.append(start - t)
                free_at = start + service
            return waits
    """),
    task("code-053", "simulation", "josephus_survivor", """
        Write a Python function `josephus_survivor(n: int, k: int) -> int` for this elimination game:
        `n` people numbered 1 to `n` stand in a circle. Starting with person 1, they count 1, 2, ...
        around the circle, and whoever says `k` leaves; counting restarts at 1 with the next person
        still in the circle. Return the number of the last person left (n >= 1, k >= 1). For example
        with n = 5 and k = 2 people leave in the order 2, 4, 1, 5 and person 3 is left.
    """, """
        assert josephus_survivor(1, 3) == 1
        assert josephus_survivor(5, 1) == 5
        assert josephus_survivor(5, 2) == 3
        assert josephus_survivor(7, 3) == 4
        assert josephus_survivor(41, 3) == 31
        assert josephus_survivor(6, 7) == 5
    """, """
        def josephus_survivor(n: int, k: int) -> int:
            people = list(range(1, n + 1))
            i = 0
            while len(people) > 1:
                i = (i + k - 1) % len(people)
                people.pop(i)
            return people[0]
    """),
    task("code-054", "simulation", "inventory_after", """
        Write a Python function `inventory_after(events: list[tuple[str, str, int]]) -> dict[str, int]`
        that replays stock events on an initially empty inventory. Each event is `("add", item, qty)`
        or `("remove", item, qty)` with a positive `qty`; removing more than is in stock leaves 0 of
        that item, never a negative amount. Return a dict with only the items whose final stock is
        positive.
    """, """
        assert inventory_after([]) == {}
        assert inventory_after([("add", "apple", 3)]) == {"apple": 3}
        assert inventory_after([("add", "apple", 3), ("remove", "apple", 1), ("add", "pear", 2)]) == {"apple": 2, "pear": 2}
        assert inventory_after([("remove", "kiwi", 4)]) == {}
        assert inventory_after([("add", "nut", 2), ("remove", "nut", 5), ("add", "nut", 1)]) == {"nut": 1}
        assert inventory_after([("add", "a", 1), ("remove", "a", 1)]) == {}
    """, """
        def inventory_after(events: list) -> dict:
            stock = {}
            for action, item, qty in events:
                if action == "add":
                    stock[item] = stock.get(item, 0) + qty
                else:
                    stock[item] = max(0, stock.get(item, 0) - qty)
            return {item: n for item, n in stock.items() if n > 0}
    """),
    task("code-055", "simulation", "tank_levels", """
        Write a Python function `tank_levels(capacity: int, changes: list[int]) -> list[int]` that
        simulates a water tank which starts empty. Each change adds water (positive) or drains it
        (negative); after each change the level is clamped to the range 0 to `capacity` (overflow
        spills away, the tank cannot go below empty). Return the level after each change.
    """, """
        assert tank_levels(10, []) == []
        assert tank_levels(10, [3, 4]) == [3, 7]
        assert tank_levels(10, [8, 5, -4]) == [8, 10, 6]
        assert tank_levels(5, [-2, 3, -10, 1]) == [0, 3, 0, 1]
        assert tank_levels(0, [1, -1]) == [0, 0]
    """, """
        def tank_levels(capacity: int, changes: list) -> list:
            level = 0
            out = []
            for change in changes:
                level = min(capacity, max(0, level + change))
                out.append(level)
            return out
    """),
    task("code-056", "simulation", "run_program", """
        Write a Python function `run_program(lines: list[str]) -> dict[str, int]` that runs a tiny
        register machine. Registers have lower-case names and hold integers. The instructions are
        "set R N" (R = N, where N is an integer, possibly negative), "inc R" (R += 1), "dec R"
        (R -= 1) and "jnz R OFFSET" (if R is not 0, jump OFFSET lines forward or, if negative,
        backward from this line; otherwise go on to the next line). Execution starts at line 0 and
        stops when the current line number is outside the program. A register that was never
        assigned reads as 0. Return a dict of the final values of every register assigned by set,
        inc or dec (a register only read by jnz is not included).
    """, """
        assert run_program([]) == {}
        assert run_program(["set a 5", "inc a"]) == {"a": 6}
        assert run_program(["dec b"]) == {"b": -1}
        assert run_program(["set a 3", "set b 0", "inc b", "inc b", "dec a", "jnz a -3"]) == {"a": 0, "b": 6}
        assert run_program(["jnz z 2", "set x 1", "set y -2"]) == {"x": 1, "y": -2}
        assert run_program(["set x 1", "jnz x 2", "set y 7", "inc x"]) == {"x": 2}
        assert run_program(["set c 1", "jnz c 5", "set c 9"]) == {"c": 1}
    """, """
        def run_program(lines: list) -> dict:
            regs = {}
            pc = 0
            while 0 <= pc < len(lines):
                op, *args = lines[pc].split()
                if op == "set":
                    regs[args[0]] = int(args[1])
                elif op == "inc":
                    regs[args[0]] = regs.get(args[0], 0) + 1
                elif op == "dec":
                    regs[args[0]] = regs.get(args[0], 0) - 1
                elif op == "jnz" and regs.get(args[0], 0) != 0:
                    pc += int(args[1])
                    continue
                pc += 1
            return regs
    """),
]


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------

class TaskError(Exception):
    """A task failed a check; the message names it."""


def wrong_solutions(t: Task) -> dict[str, str]:
    """Deliberately wrong solutions that the tests must reject."""
    return {
        "returns None": f"def {t.entry_point}(*args, **kwargs):\n    return None\n",
        "returns its first argument": f"def {t.entry_point}(*args, **kwargs):\n    return args[0] if args else None\n",
    }


def run_tests(solution: str, tests: str) -> tuple[bool, str]:
    """Run solution + tests in a fresh isolated interpreter; (passed, last line of stderr)."""
    program = solution + "\n\n" + tests
    with tempfile.TemporaryDirectory(prefix="code-task-") as tmp:
        try:
            proc = subprocess.run([sys.executable, "-I", "-c", program], cwd=tmp, capture_output=True,
                                  text=True, timeout=TIMEOUT_S, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return False, f"timed out after {TIMEOUT_S}s"
    lines = proc.stderr.strip().splitlines()
    return proc.returncode == 0, lines[-1] if lines else f"exit code {proc.returncode}"


def check_static(tasks: list[Task]) -> None:
    ids = [t.id for t in tasks]
    if ids != [f"code-{i:03d}" for i in range(1, len(tasks) + 1)]:
        raise TaskError("ids must be code-001, code-002, ... in order without gaps")
    seen_entry: dict[str, str] = {}
    for t in tasks:
        where = f"{t.id} ({t.entry_point})"
        if t.topic not in TOPICS:
            raise TaskError(f"{where}: unknown topic {t.topic!r}")
        if t.split not in ("train", "eval"):
            raise TaskError(f"{where}: unknown split {t.split!r}")
        if t.entry_point in seen_entry:
            raise TaskError(f"{where}: entry point already used by {seen_entry[t.entry_point]}")
        seen_entry[t.entry_point] = t.id
        if f"`{t.entry_point}(" not in t.question or not t.question.startswith("Write a Python function `"):
            raise TaskError(f"{where}: the question must name the signature as `{t.entry_point}(...)`")
        if f"def {t.entry_point}(" not in t.solution:
            raise TaskError(f"{where}: the reference solution does not define {t.entry_point}")
        asserts = [line for line in t.tests.splitlines() if line.startswith("assert ")]
        if not MIN_TESTS <= len(asserts) <= MAX_TESTS:
            raise TaskError(f"{where}: {len(asserts)} asserts, want {MIN_TESTS}-{MAX_TESTS}")
        if not all(t.entry_point in line for line in asserts):
            raise TaskError(f"{where}: every assert must call {t.entry_point}")
    if len({t.question for t in tasks}) != len(tasks):
        raise TaskError("duplicate questions")
    evals = [t for t in tasks if t.split == "eval"]
    if len(evals) != EVAL_TOTAL or sorted(t.topic for t in evals) != sorted(TOPICS):
        raise TaskError(f"want exactly {EVAL_TOTAL} eval tasks, one per topic; got {[t.id for t in evals]}")


def check_runs(tasks: list[Task]) -> None:
    """Reference must pass, every wrong solution must fail; the first problem in id order is raised."""
    jobs = []
    for t in tasks:
        jobs.append((t, "reference solution", t.solution, True))
        for name, code in wrong_solutions(t).items():
            jobs.append((t, f"wrong solution that {name}", code, False))
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda job: run_tests(job[2], job[0].tests), jobs))
    for (t, what, _, must_pass), (passed, detail) in zip(jobs, results):
        if passed != must_pass:
            verdict = f"fails its tests: {detail}" if must_pass else "passes the tests (tests too weak)"
            raise TaskError(f"{t.id} ({t.entry_point}): {what} {verdict}")


def to_row(t: Task) -> dict:
    return {
        "id": t.id,
        "domain": "code",
        "topic": t.topic,
        "question": t.question,
        "entry_point": t.entry_point,
        "tests": t.tests,
        "answer": json.dumps({"entry_point": t.entry_point, "tests": t.tests}, sort_keys=True),
        "split": t.split,
    }


def main(out_path: str | Path = OUT_PATH) -> Path:
    out_path = Path(out_path)
    try:
        check_static(TASKS)
        check_runs(TASKS)
    except TaskError as exc:
        raise SystemExit(f"build_tasks: {exc}") from None
    text = "".join(json.dumps(to_row(t), ensure_ascii=False) + "\n" for t in TASKS)
    out_path.write_bytes(text.encode("utf-8"))
    return out_path


if __name__ == "__main__":
    path = main(sys.argv[1] if len(sys.argv) > 1 else OUT_PATH)
    n_eval = sum(t.split == "eval" for t in TASKS)
    print(f"wrote {len(TASKS)} tasks ({len(TASKS) - n_eval} train, {n_eval} eval) to {path}")
