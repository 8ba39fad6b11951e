from generators.parsing import split_reasoning


def test_think_tags_split_reasoning_from_answer():
    assert split_reasoning("<think>2 + 3 = 5</think>\nThe answer is \\boxed{5}.") == (
        "2 + 3 = 5", "The answer is \\boxed{5}.")


def test_unclosed_think_is_all_reasoning():
    assert split_reasoning("<think>2 + 3 is") == ("2 + 3 is", "")


def test_last_answer_line_is_the_answer():
    text = "First, 4 x 5 = 20.\nThe answer is 20 apples.\nSo the final answer is \\boxed{20}."
    assert split_reasoning(text) == ("First, 4 x 5 = 20.\nThe answer is 20 apples.", "So the final answer is \\boxed{20}.")


def test_plain_text_is_all_answer():
    assert split_reasoning("  42  ") == ("", "42")

