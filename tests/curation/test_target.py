from curation.target import training_target


def test_training_target_ends_with_one_canonical_line():
    assert training_target("4 x 5 = 20.", "20") == "4 x 5 = 20.\nThe answer is \\boxed{20}."
    assert training_target("", "3/4") == "The answer is \\boxed{3/4}."
